"""Export jobs end to end against a real server: a big statement queued, followed and
downloaded is the direct download's file; the tickets of a session as one PDF or a ZIP
read back page by page; who may queue and who may see a job; a job whose worker died
(its lease ran out) is taken over by a live process and finished."""

from __future__ import annotations

import csv
import io
import uuid
import zipfile

import asyncpg
import openpyxl

from server.exports import jobs
from tests import support
from tests.accounting.helpers import new_session, order, period, trade
from tests.exports.helpers import download, pages, pdf_text, wait_done
from tests.support import Api, ServerProcess, staff_token


async def test_a_queued_sales_statement_is_the_direct_download(
    server: ServerProcess, admin: Api
) -> None:
    day = await trade(admin, server)
    query = {**period(), "register_id": str(day.register_id)}
    r = await admin.http.post(
        "/api/exports/statements", params={"statement": "sales", "format": "csv", **query}
    )
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "queued"
    job = await wait_done(admin, r.json()["id"])
    assert job["status"] == "done", job
    assert job["done"] == job["total"] == 5
    assert job["file_name"] == "sales.csv"
    queued = await download(admin, job["id"])
    direct = await admin.http.get("/api/statements/sales.csv", params=query)
    assert queued == direct.content
    rows = list(csv.DictReader(io.StringIO(queued.decode("utf-8-sig"))))
    assert [r["kind"] for r in rows][-1] == "refund"

    r = await admin.http.post(
        "/api/exports/statements", params={"statement": "sales", "format": "xlsx", **query}
    )
    job = await wait_done(admin, r.json()["id"])
    book = openpyxl.load_workbook(io.BytesIO(await download(admin, job["id"])), read_only=True)
    assert len(list(book["sales"].iter_rows())) == 1 + 5


async def test_a_statement_job_checks_its_period_and_filters(admin: Api) -> None:
    bad = {"statement": "sales", "format": "csv", "from": "2025-02-01", "to": "2025-01-01"}
    r = await admin.http.post("/api/exports/statements", params=bad)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_period"
    r = await admin.http.post(
        "/api/exports/statements", params={**bad, "to": "2025-03-01", "format": "ods"}
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "format"


async def _session_with_tickets(admin: Api, server: ServerProcess, n: int) -> tuple[int, str]:
    session_id, tariffs = await new_session(admin)
    buyer = Api(server.url)
    try:
        await order(buyer, session_id, tariffs[0], n, buyer={"name": "Ada Lovelace"})
    finally:
        await buyer.close()
    event = (await admin.http.get(f"/api/sessions/{session_id}")).json()["event_name"]
    return session_id, event


async def test_the_tickets_of_a_session_as_one_pdf_and_as_a_zip(
    server: ServerProcess, admin: Api
) -> None:
    session_id, event = await _session_with_tickets(admin, server, 45)
    r = await admin.http.post("/api/exports/tickets", json={"session_id": session_id})
    assert r.status_code == 202, r.text
    job = await wait_done(admin, r.json()["id"])
    assert job["status"] == "done" and job["done"] == job["total"] == 45, job
    archive = zipfile.ZipFile(io.BytesIO(await download(admin, job["id"])))
    names = archive.namelist()
    assert len(names) == 45 and len(set(names)) == 45
    one = archive.read(names[0])
    assert pages(one) == 1 and event.encode() in pdf_text(one)

    r = await admin.http.post(
        "/api/exports/tickets", json={"session_id": session_id, "format": "pdf"}
    )
    job = await wait_done(admin, r.json()["id"])
    pdf = await download(admin, job["id"])
    assert job["file_name"] == f"tickets-session-{session_id}.pdf"
    assert pages(pdf) == 45  # more than the 42 a PDF of the old system held
    assert pdf_text(pdf).count(b"Ada Lovelace") == 45


async def test_who_may_queue_and_see_an_export(server: ServerProcess, admin: Api) -> None:
    session_id, _ = await _session_with_tickets(admin, server, 1)
    accountant = Api(server.url, await staff_token(admin, "accounting"))
    other = Api(server.url, await staff_token(admin, "accounting"))
    try:
        r = await accountant.http.post("/api/exports/tickets", json={"session_id": session_id})
        assert r.status_code == 403
        params = {"statement": "registers", "format": "csv", **period()}
        r = await accountant.http.post("/api/exports/statements", params=params)
        assert r.status_code == 202, r.text
        job_id = r.json()["id"]
        assert (await other.http.get(f"/api/exports/{job_id}")).status_code == 404
        assert (await other.http.get(f"/api/exports/{job_id}/file")).status_code == 404
        assert job_id not in [
            j["id"] for j in (await other.http.get("/api/exports")).json()["jobs"]
        ]
        assert (await wait_done(accountant, job_id))["status"] == "done"
        assert (await admin.http.get(f"/api/exports/{job_id}/file")).status_code == 200
        mine = (await accountant.http.get("/api/exports")).json()["jobs"]
        assert [j["id"] for j in mine] == [job_id]
    finally:
        await accountant.close()
        await other.close()
    r = await admin.http.post("/api/exports/tickets", json={"session_id": 2**40})
    assert r.status_code == 404


async def test_a_job_whose_worker_died_is_finished_by_another_process(
    server: ServerProcess, admin: Api
) -> None:
    session_id, event = await _session_with_tickets(admin, server, 3)
    admin_id = (await admin.http.get("/api/auth/me")).json()["id"]
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        # A worker claims the job in the transaction that queues it, then dies silent: no
        # process could take it before, none may take it until its lease runs out.
        async with conn.transaction():
            params = {"session_id": session_id, "format": "pdf", "entry": "all"}
            job = await jobs.create(conn, "tickets", params, admin_id)
            claimed = await jobs.claim(conn, f"dead-{uuid.uuid4().hex}", 1.5)
        assert claimed is not None and claimed["id"] == job["id"]
        row = await conn.fetchrow("SELECT status, worker FROM export_jobs WHERE id = $1", job["id"])
        assert row["status"] == "running" and row["worker"].startswith("dead-")
    finally:
        await conn.close()
    done = await wait_done(admin, job["id"])
    assert done["status"] == "done" and done["attempts"] == 2, done
    pdf = await download(admin, job["id"])
    assert pages(pdf) == 3 and event.encode() in pdf_text(pdf)
