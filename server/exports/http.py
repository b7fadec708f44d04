"""Export jobs over HTTP: queue a big statement or the ticket PDFs of a session, follow its
progress, download its file when ready (docs/exports.md).

Queuing a statement needs `accounting.read`, the tickets of a session `catalog.manage`
(the organiser's). A job is its requester's: another user (an admin excepted) is told
it does not exist.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from server.accounting.exports import CHUNK
from server.accounting.period import FILTERS, PERIOD, PERIOD_ERRORS
from server.exports import jobs, statements, tickets
from server.exports.schemas import Job, Jobs, TicketsIn
from server.identity.actors import actor_of
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.platform import audit
from server.platform.db import connection
from server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from server.web.api import Operations, Param
from server.web.requests import body_as, path_id

OPERATIONS = Operations()
TAGS = ("exports",)
EITHER = (Permission.ACCOUNTING_READ, Permission.CATALOG_MANAGE)
MAX_LISTED = 50
MAX_WAITING = 5
"""Jobs a user may have queued or running at once."""


def _user(request: Request) -> tuple[Principal, int]:
    principal: Principal = request.state.principal
    if principal.user_id is None or principal.user_id < 0:
        raise Forbidden("user_required", "an export is a signed-in user's")
    return principal, principal.user_id


async def _queue(request: Request, kind: str, params: dict[str, Any], subject: str) -> JSONResponse:
    _, user_id = _user(request)
    async with connection(request.app.state.pool) as conn, conn.transaction():
        waiting = await conn.fetchval(
            "SELECT count(*) FROM export_jobs WHERE requested_by = $1"
            " AND status IN ('queued', 'running')",
            user_id,
        )
        if waiting >= MAX_WAITING:
            raise Conflict("too_many_exports", f"at most {MAX_WAITING} exports wait at once")
        row = await jobs.create(conn, kind, params, user_id)
        await audit.record(conn, actor_of(request), f"export.{kind}", subject, job_id=row["id"])
    return JSONResponse(jobs.job_json(row), status_code=202)


@OPERATIONS.post(
    "/api/exports/statements",
    tags=TAGS,
    permission=Permission.ACCOUNTING_READ,
    params=(
        Param("statement", Literal["sales", "registers", "accounting"], required=True),
        Param("format", Literal["csv", "xlsx"], required=True),
        *PERIOD,
        *FILTERS,
    ),
    responses={202: Job},
    errors={400: PERIOD_ERRORS, 403: ("user_required",), 409: ("too_many_exports",)},
)
async def export_statement(request: Request) -> JSONResponse:
    """Queue a statement as a CSV or XLSX file, for a statement too big to wait for: the
    same period, filters and columns as `GET /api/statements/{statement}.{format}`. Any
    server process writes it; `GET /api/exports/{id}` follows it."""
    q = request.query_params
    statement, fmt = q.get("statement", ""), q.get("format", "")
    if statement not in statements.STATEMENTS:
        raise Invalid(
            "invalid_field", "'statement' is sales, registers or accounting", field="statement"
        )
    if fmt not in statements.FORMATS:
        raise Invalid("invalid_field", "'format' is csv or xlsx", field="format")
    query = statements.query_of(statement, q)
    params = {"statement": statement, "format": fmt, "query": query}
    return await _queue(request, "statement", params, f"statement:{statement}")


@OPERATIONS.post(
    "/api/exports/tickets",
    tags=TAGS,
    permission=Permission.CATALOG_MANAGE,
    body=TicketsIn,
    responses={202: Job},
    errors={
        400: ("no_tickets", "too_many_for_one_pdf"),
        403: ("user_required",),
        404: ("not_found",),
        409: ("too_many_exports",),
    },
)
async def export_tickets(request: Request) -> JSONResponse:
    """Queue the printable tickets of a session (its active tickets, or those not yet let
    in): one PDF, an A6 page a ticket (at most 2,000: 400 `too_many_for_one_pdf`), or a
    ZIP of one PDF a ticket, of any number."""
    body = await body_as(request, TicketsIn)
    async with connection(request.app.state.pool) as conn:
        n = await tickets.count(conn, body.session_id, body.entry)
    tickets.check_size(body.format, n)
    params = {"session_id": body.session_id, "format": body.format, "entry": body.entry}
    return await _queue(request, "tickets", params, f"session:{body.session_id}")


@OPERATIONS.get(
    "/api/exports",
    tags=TAGS,
    permission=EITHER,
    responses={200: Jobs},
    errors={403: ("user_required",)},
)
async def list_exports(request: Request) -> JSONResponse:
    """The caller's last 50 export jobs, newest first (expired ones are gone)."""
    _, user_id = _user(request)
    async with connection(request.app.state.pool) as conn:
        rows = await jobs.of_user(conn, user_id, MAX_LISTED)
    return JSONResponse({"jobs": [jobs.job_json(r) for r in rows]})


async def _job(request: Request) -> Any:
    principal, user_id = _user(request)
    async with connection(request.app.state.pool) as conn:
        row = await jobs.get(conn, path_id(request, "job_id"))
    if row is None or (row["requested_by"] != user_id and not principal.can(Permission.ADMIN)):
        raise NotFound("unknown_export", "no export job has this id (or it expired)")
    return row


@OPERATIONS.get(
    "/api/exports/{job_id:int}",
    tags=TAGS,
    permission=EITHER,
    responses={200: Job},
    errors={403: ("user_required",), 404: ("unknown_export",)},
)
async def export_job(request: Request) -> JSONResponse:
    """An export job: its status and progress (`done` of `total`), and once `ready` its
    file's name and size. The requester's, or any for an admin."""
    return JSONResponse(jobs.job_json(await _job(request)))


def _read(path: Path) -> Any:
    f = path.open("rb")

    def chunks() -> Any:
        with f:
            while chunk := f.read(CHUNK):
                yield chunk

    return chunks()


MEDIA = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pdf": "application/pdf",
    "zip": "application/zip",
}


@OPERATIONS.get(
    "/api/exports/{job_id:int}/file",
    tags=TAGS,
    permission=EITHER,
    responses={200: {m: None for m in MEDIA.values()}},
    errors={403: ("user_required",), 404: ("unknown_export",), 409: ("export_not_ready",)},
)
async def export_file(request: Request) -> StreamingResponse:
    """The job's file once done (409 `export_not_ready` before), streamed; the
    requester's, or any for an admin. Files are removed when their job expires."""
    row = await _job(request)
    if row["status"] != jobs.Status.DONE:
        raise Conflict("export_not_ready", f"the export is {row['status']}", status=row["status"])
    path = Path(row["file_path"])
    try:
        chunks = await asyncio.to_thread(_read, path)
    except FileNotFoundError as exc:
        raise NotFound("unknown_export", "the export's file is gone") from exc
    name = row["file_name"]
    return StreamingResponse(
        chunks,
        media_type=MEDIA[name.rsplit(".", 1)[-1]],
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(row["size_bytes"]),
        },
    )
