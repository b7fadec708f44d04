"""The audit log: sensitive actions are recorded with who, when and from where; admins
filter it and export it as CSV; nobody edits or deletes a row, not even the database owner."""

from __future__ import annotations

import csv
import io
import json
import uuid

import asyncpg
import pytest

from tests import support
from tests.support import STAFF_PASSWORD, Api, ServerProcess, staff_token


async def test_user_changes_are_recorded_and_filtered(admin: Api) -> None:
    username = f"a-{uuid.uuid4().hex[:10]}"
    r = await admin.http.post(
        "/api/users", json={"username": username, "password": STAFF_PASSWORD, "roles": ["stats"]}
    )
    user_id = r.json()["id"]
    await admin.http.patch(f"/api/users/{user_id}", json={"roles": ["pos"]})
    await admin.http.post(f"/api/users/{user_id}/disable")
    log = (await admin.http.get("/api/audit", params={"subject": f"user:{user_id}"})).json()
    actions = [e["action"] for e in log["items"]]
    assert actions == ["user.disable", "user.roles", "user.create"]  # newest first
    roles = log["items"][1]
    assert roles["details"] == {"before": ["stats"], "after": ["pos"]}
    assert roles["actor_name"] == "admin" and roles["address"] == "127.0.0.1"
    only = (await admin.http.get("/api/audit", params={"action": "user.dis"})).json()["items"]
    assert {e["action"] for e in only} == {"user.disable"}
    admin_id = (await admin.http.get("/api/auth/me")).json()["id"]
    by_id = await admin.http.get("/api/audit", params={"actor": str(admin_id), "limit": 1})
    assert by_id.json()["items"][0]["actor_id"] == admin_id


async def test_the_csv_export_is_the_filtered_log_read_back(
    server: ServerProcess, admin: Api
) -> None:
    sly = f"=HYPERLINK-{uuid.uuid4().hex[:6]}"  # a name a spreadsheet would run as a formula
    r = await admin.http.post(
        "/api/users", json={"username": sly, "password": STAFF_PASSWORD, "roles": ["admin"]}
    )
    assert r.status_code == 201
    token = (
        await admin.http.post("/api/auth/login", json={"username": sly, "password": STAFF_PASSWORD})
    ).json()["token"]
    actor = Api(server.url, token)
    try:
        r = await actor.http.post("/api/points-of-sale", json={"name": f"Bar {sly}", "kind": "bar"})
    finally:
        await actor.close()
    point = r.json()["id"]
    exported = await admin.http.get("/api/audit.csv", params={"subject": f"point_of_sale:{point}"})
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    assert exported.text.startswith("\ufeffid,at,actor_id")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert [(row["action"], row["actor_name"]) for row in rows] == [
        ("point_of_sale.create", "'" + sly)
    ]
    assert json.loads(rows[0]["details"]) == {"name": f"Bar {sly}"}


async def test_only_admins_read_the_log(server: ServerProcess, admin: Api) -> None:
    manager = Api(server.url, await staff_token(admin, "pos", "stats", "refund"))
    try:
        assert (await manager.http.get("/api/audit")).status_code == 403
        assert (await manager.http.get("/api/audit.csv")).status_code == 403
    finally:
        await manager.close()


async def test_bad_filters_are_refused(admin: Api) -> None:
    r = await admin.http.get("/api/audit", params={"since": "yesterday"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_field")
    r = await admin.http.get("/api/audit.csv", params={"until": "2026-01-01T00:00:00"})
    assert r.status_code == 400  # no time zone: refused before the stream starts
    r = await admin.http.get("/api/audit", params={"since": "0001-01-01T00:00+01:00"})
    assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_field")  # no UTC time


@pytest.mark.usefixtures("server")
async def test_the_log_is_append_only() -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        for statement in (
            "UPDATE audit_log SET action = 'nothing'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await conn.execute(statement)
        assert await conn.fetchval("SELECT count(*) FROM audit_log") > 0
    finally:
        await conn.close()


async def test_a_cashiers_sale_and_refund_are_recorded_and_the_shops_sales_are_not(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    cashier = Api(server.url, await staff_token(admin, "pos", "refund"))
    shop = Api(server.url)
    try:
        hold = (await cashier.hold(s.id, s.seat_ids[:2])).json()
        sale = await cashier.buy(s.id, hold["token"], s.seat_ids[:2], s.tariff_ids[0])
        assert sale.status_code == 201, sale.text
        order = sale.json()
        ticket = order["tickets"][0]["id"]
        assert (await cashier.http.post(f"/api/tickets/{ticket}/refund")).status_code == 200
        web_hold = (await shop.hold(s.id, s.seat_ids[5:6])).json()
        web = await shop.buy(s.id, web_hold["token"], s.seat_ids[5:6], s.tariff_ids[0])
        assert web.status_code == 201
    finally:
        await cashier.close()
        await shop.close()
    sold = (await admin.http.get("/api/audit", params={"subject": f"order:{order['id']}"})).json()
    [entry] = sold["items"]
    assert entry["action"] == "order.create" and entry["actor_name"].startswith("staff-pos")
    assert entry["details"]["total_cents"] == 3000 and len(entry["details"]["tickets"]) == 2
    refund = (await admin.http.get("/api/audit", params={"subject": f"ticket:{ticket}"})).json()
    assert [e["action"] for e in refund["items"]] == ["ticket.refund"]
    web_order = web.json()["id"]
    none = (await admin.http.get("/api/audit", params={"subject": f"order:{web_order}"})).json()
    assert none["items"] == []
