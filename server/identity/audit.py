"""Reading the audit log (``server.platform.audit`` records it): a filtered list for the
back office and a streamed CSV export. Admins only."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from server.identity.permissions import Permission
from server.identity.schemas import AuditPage
from server.platform.db import connection
from server.platform.errors import Invalid
from server.web.api import PAGE, Operations, Param
from server.web.requests import check_text, page, query_timestamp

OPERATIONS = Operations()
ADMIN = ("admin",)
COLUMNS = (
    "id",
    "at",
    "actor_id",
    "actor_name",
    "device_id",
    "point_of_sale",
    "address",
    "action",
    "subject",
    "details",
)
FILTERS = (
    Param("action", str, description="actions starting with this (`user.`, `tariff.create`)"),
    Param("actor", str, description="an actor's name (exact) or user id"),
    Param("subject", str, description="a subject (`user:12`, exactly) or a kind (`user:`)"),
    Param("since", str, description="ISO 8601 time, inclusive"),
    Param("until", str, description="ISO 8601 time, exclusive"),
)
CSV_BATCH = 1000


def _text(request: Request, name: str) -> str | None:
    raw = request.query_params.get(name) or None
    if raw is not None and len(raw) > 200:
        raise Invalid("invalid_field", f"'{name}' is at most 200 characters", field=name)
    return check_text(name, raw) if raw is not None else None


def _where(request: Request) -> tuple[str, list[Any]]:
    """The filter clause and its arguments. Prefixes are matched with ``starts_with`` (no
    LIKE pattern to escape)."""
    actor = _text(request, "actor")
    actor_id = int(actor) if actor is not None and actor.isascii() and actor.isdigit() else None
    args: list[Any] = [
        _text(request, "action"),
        actor,
        actor_id if actor_id is not None and actor_id < 2**63 else None,
        _text(request, "subject"),
        query_timestamp(request, "since"),
        query_timestamp(request, "until"),
    ]
    clause = (
        " WHERE ($1::text IS NULL OR starts_with(action, $1))"
        " AND ($2::text IS NULL OR actor_name = $2 OR actor_id = $3::bigint)"
        " AND ($4::text IS NULL OR subject = $4"
        " OR (right($4, 1) = ':' AND starts_with(subject, $4)))"
        " AND ($5::timestamptz IS NULL OR at >= $5) AND ($6::timestamptz IS NULL OR at < $6)"
    )
    return clause, args


def _entry(row: Any) -> dict[str, Any]:
    entry = dict(row)
    entry["at"] = row["at"].isoformat()
    entry["details"] = json.loads(row["details"])
    return entry


@OPERATIONS.get(
    "/api/audit",
    tags=ADMIN,
    permission=Permission.ADMIN,
    params=(*PAGE, *FILTERS),
    responses={200: AuditPage},
)
async def audit_log(request: Request) -> JSONResponse:
    """Who did what, when, from where: newest first, filtered."""
    clause, args = _where(request)
    pg = page(request)
    async with connection(request.app.state.pool) as conn:
        rows = await conn.fetch(
            f"SELECT {', '.join(COLUMNS)} FROM audit_log{clause} ORDER BY id DESC" + pg.sql(),
            *args,
        )
    return JSONResponse(pg.body("items", [_entry(r) for r in rows]))


@OPERATIONS.get(
    "/api/audit.csv",
    tags=ADMIN,
    permission=Permission.ADMIN,
    params=FILTERS,
    responses={200: {"text/csv": str}},
)
async def audit_csv(request: Request) -> StreamingResponse:
    """The filtered log as CSV (UTF-8, a header row, oldest first), streamed: a log of any
    length is read with a cursor, a thousand rows at a time."""
    clause, args = _where(request)
    pool = request.app.state.pool

    async def lines() -> AsyncIterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        yield "\ufeff" + out.getvalue()  # the BOM makes spreadsheets read UTF-8
        async with connection(pool) as conn, conn.transaction():
            cursor = conn.cursor(
                f"SELECT {', '.join(COLUMNS)} FROM audit_log{clause} ORDER BY id", *args
            )
            batch: list[Any] = []
            async for row in cursor:
                batch.append(row)
                if len(batch) == CSV_BATCH:
                    yield _csv(batch)
                    batch = []
            if batch:
                yield _csv(batch)

    return StreamingResponse(
        lines(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


def _cell(value: Any) -> Any:
    """A cell a spreadsheet shows as text: one starting with = + - @ would be a formula."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _csv(rows: list[Any]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([_cell(row[c]) for c in COLUMNS])
    return out.getvalue()
