"""The printable tickets of a session as an export job: one PDF (an A6 page a ticket) or a
ZIP of one PDF per ticket, of any number of tickets.

The active tickets of the session are read through a cursor, ``BATCH`` at a time, their
codes signed, and their pages drawn by fpdf2 in a worker thread (drawing is CPU work; the
event loop keeps serving). A ZIP is written ticket by ticket, so its memory stays flat
whatever the count; one PDF is held by fpdf2 until its end, about 11 KB a page, so it is
limited to ``MAX_PDF`` tickets (a ZIP for more).

Params: ``session_id``, ``format`` (``pdf`` or ``zip``), ``entry`` (``all``, or
``not_entered``: the tickets no door has let in yet, to print what is still to come).
"""

from __future__ import annotations

import asyncio
import zipfile
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import asyncpg

from scanning.qr import TicketBook, tickets_pdf
from server.accounting.exports import batches
from server.door.keys import KeyStore, ticket_code
from server.exports.worker import Output, Producer, Progress
from server.platform.db import connection
from server.platform.errors import Invalid, NotFound

Format = Literal["pdf", "zip"]
Entry = Literal["all", "not_entered"]
MAX_PDF = 2000
BATCH = 50

_WHERE = """
 WHERE t.session_id = $1 AND t.status = 'active'
   AND ($2 = 'all' OR NOT EXISTS (SELECT 1 FROM scans c WHERE c.ticket_id = t.id
                                   AND c.result = 'valid'))
"""
_COUNT = f"SELECT count(*) FROM tickets t {_WHERE}"
_TICKETS = f"""
SELECT t.id, t.code_seed, se.label AS seat, se.row_label AS row, ta.name AS tariff,
       o.buyer_name
  FROM tickets t
  JOIN sessions s ON s.id = t.session_id
  JOIN orders o ON o.id = t.order_id
  LEFT JOIN tariffs ta ON ta.id = t.tariff_id
  LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
 {_WHERE}
 ORDER BY t.id
"""
_SESSION = (
    "SELECT s.id, s.event_name, s.starts_at, s.ends_at, r.name AS room"
    " FROM sessions s JOIN rooms r ON r.id = s.room_id WHERE s.id = $1"
)


async def count(conn: asyncpg.Connection, session_id: int, entry: str) -> int:
    """How many tickets the job would print (404 for an unknown session; 400
    ``too_many_for_one_pdf`` is the caller's to raise)."""
    if await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1", session_id) is None:
        raise NotFound.of("session")
    found: int = await conn.fetchval(_COUNT, session_id, entry)
    return found


def check_size(fmt: str, n: int) -> None:
    if n == 0:
        raise Invalid("no_tickets", "the session has no ticket to print")
    if fmt == "pdf" and n > MAX_PDF:
        raise Invalid(
            "too_many_for_one_pdf",
            f"one PDF holds at most {MAX_PDF} tickets; ask for a ZIP",
            tickets=n,
            max=MAX_PDF,
        )


def file_name(params: Mapping[str, Any]) -> str:
    return f"tickets-session-{params['session_id']}.{params['format']}"


def _write_zip(archive: zipfile.ZipFile, pages: Sequence[tuple[int, dict[str, Any]]]) -> None:
    for ticket_id, page in pages:
        archive.writestr(f"ticket-{ticket_id}.pdf", tickets_pdf([page]))


def _add(book: TicketBook, pages: Sequence[tuple[int, dict[str, Any]]]) -> None:
    for _, page in pages:
        book.add(page)


def tickets_producer(pool: asyncpg.Pool, keys: KeyStore) -> Producer:
    async def produce(params: Mapping[str, Any], out: Output, progress: Progress) -> None:
        session_id, entry, fmt = params["session_id"], params["entry"], params["format"]
        async with connection(pool) as conn:
            progress.total = await count(conn, session_id, entry)
            session = await conn.fetchrow(_SESSION, session_id)
        check_size(fmt, progress.total)
        start = session["starts_at"].strftime("%Y-%m-%d %H:%M UTC")
        head = {"event": session["event_name"], "session_start": start}
        book = TicketBook(head) if fmt == "pdf" else None
        archive = None
        if fmt == "zip":
            archive = await asyncio.to_thread(zipfile.ZipFile, out.path, "w", zipfile.ZIP_STORED)
        try:
            async for rows in batches(pool, _TICKETS, (session_id, entry), BATCH):
                pages = [(r["id"], await _page(keys, session, head, r)) for r in rows]
                if archive is not None:
                    await asyncio.to_thread(_write_zip, archive, pages)
                elif book is not None:
                    await asyncio.to_thread(_add, book, pages)
                await progress.add(len(rows))
        finally:
            if archive is not None:
                await asyncio.to_thread(archive.close)
        if book is not None:
            data = await asyncio.to_thread(book.output)
            await asyncio.to_thread(out.path.write_bytes, data)

    return produce


async def _page(
    keys: KeyStore, session: asyncpg.Record, head: dict[str, str], r: asyncpg.Record
) -> dict[str, Any]:
    code = await ticket_code(
        keys,
        r["id"],
        session["id"],
        session["starts_at"],
        session["ends_at"],
        bytes(r["code_seed"]),
    )
    return {
        **head,
        "code": code,
        "room": session["room"],
        "seat": r["seat"],
        "row": r["row"],
        "tariff": r["tariff"] or "",
        "holder": r["buyer_name"],
    }
