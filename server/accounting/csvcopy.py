"""CSV lines formatted by Postgres: a statement's rows leave the database already as the
lines of the CSV file, through ``COPY (SELECT …) TO STDOUT``, and reach the response
through a bounded queue.

Each row is one text column, the whole line, built by ``line_sql`` with the very rules of
the Python writer (``exports.csv_cell`` and ``csv.writer``'s minimal quoting): amounts
with two decimals (``-0.05``), times ISO 8601 with their offset in the statement's zone
(microseconds only when there are some, as ``datetime.isoformat``), a text that would
start a formula led by a quote, a text holding a comma, a double quote or a line break
quoted with its double quotes doubled, nothing for NULL.

``COPY`` in text format ends each row with ``\\n`` and escapes a backslash and the
control characters inside it (``\\n``, ``\\r``, ``\\t``…): every raw ``\\n`` of its output
is a row's end, which becomes the CSV's ``\\r\\n``, and the escapes are undone after.
Postgres sends a chunk of whole rows at a time, so no escape is split between chunks.

Memory stays flat: the COPY runs in a task that puts its chunks in a queue of
``QUEUE`` chunks; while the queue is full the task waits, asyncpg stops reading the
socket, and Postgres waits on the client — the speed of the slowest reader sets the pace.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Sequence
from contextlib import suppress
from dataclasses import dataclass

import asyncpg

from server.accounting.period import CUSTOM_PLANS
from server.platform.db import connection

QUEUE = 16
"""Chunks of COPY output held at most between Postgres and the response (each one what
asyncpg read from the socket at once: at most a few hundred kilobytes)."""

COPY_TIMEOUT = 6 * 3600.0
"""Seconds a whole COPY may last, the reader's pace included (asyncpg's budget covers the
whole COPY; the pool's ten seconds are for single statements)."""

_ESCAPES = {
    b"\\": b"\\",
    b"b": b"\b",
    b"f": b"\f",
    b"n": b"\n",
    b"r": b"\r",
    b"t": b"\t",
    b"v": b"\v",
}
_ESCAPE = re.compile(rb"\\(.)", re.DOTALL)


@dataclass(frozen=True, slots=True)
class Query:
    """A statement's rows in SQL: ``SELECT … FROM {source}{order}`` with ``args`` ($1…$n);
    ``order`` names columns of the source's output (``ORDER BY paid_at, …``)."""

    pool: asyncpg.Pool
    source: str
    order: str
    args: Sequence[object]


def _text(v: str) -> str:
    """A text cell: formula start quoted (``exports.text_cell``), then CSV-quoted. Quoting
    a formula start changes nothing to whether the cell needs quoting."""
    formula = "('=', '+', '-', '@', E'\\t', E'\\r')"  # exports.FORMULA_START
    cell = f"(CASE WHEN left({v}, 1) IN {formula} THEN '''' || {v} ELSE {v} END)"
    special = " + ".join(f"strpos({v}, {c})" for c in ("','", "'\"'", "E'\\n'", "E'\\r'"))
    return (
        f"(CASE WHEN {special} > 0 THEN '\"' || replace({cell}, '\"', '\"\"') || '\"'"
        f" ELSE {cell} END)"
    )


def _amount(v: str) -> str:
    """``exports.amount``: ``1250`` → ``12.50``, ``-5`` → ``-0.05``."""
    a = f"abs({v}::bigint)"
    return (
        f"(CASE WHEN {v} < 0 THEN '-' ELSE '' END || ({a} / 100)::text || '.'"
        f" || lpad(({a} % 100)::text, 2, '0'))"
    )


def _time(v: str, tz: str) -> str:
    """``datetime.astimezone(tz).isoformat()``: local time, microseconds when not zero,
    the offset as ``+HH:MM``. The COPY runs with the session's ``TimeZone`` set to ``tz``,
    so one ``to_char`` does it; an offset with seconds (local mean times, before about
    1912) is ``+HH:MM:SS``, computed apart."""
    return (
        f"(CASE WHEN date_part('timezone', {v})::int % 60 <> 0 THEN {_time_lmt(v, tz)}"
        f" WHEN date_part('microseconds', {v})::bigint % 1000000 = 0"
        f" THEN to_char({v}, 'YYYY-MM-DD\"T\"HH24:MI:SSTZH:TZM')"
        f" ELSE to_char({v}, 'YYYY-MM-DD\"T\"HH24:MI:SS.USTZH:TZM') END)"
    )


def _time_lmt(v: str, tz: str) -> str:
    local = f"({v} AT TIME ZONE {tz})"
    off = f"extract(epoch FROM {local} - ({v} AT TIME ZONE 'UTC'))::int"
    a = f"abs({off})"
    return (
        f"(to_char({local}, 'YYYY-MM-DD\"T\"HH24:MI:SS')"
        f" || CASE WHEN date_part('microseconds', {local})::bigint % 1000000 <> 0"
        f" THEN to_char({local}, '.US') ELSE '' END"
        f" || CASE WHEN {off} < 0 THEN '-' ELSE '+' END"
        f" || lpad(({a} / 3600)::text, 2, '0') || ':' || lpad(({a} / 60 % 60)::text, 2, '0')"
        f" || ':' || lpad(({a} % 60)::text, 2, '0'))"
    )


def cell_sql(key: str, kind: str, tz: str) -> str:
    v = f"s.{key}"
    match kind:
        case "int":
            e = f"{v}::text"
        case "cents" | "percent":  # basis points are hundredths of a percent
            e = _amount(v)
        case "time":
            e = _time(v, tz)
        case "day":
            e = f"to_char({v}::date, 'YYYY-MM-DD')"
        case "code":
            e = f"{v}::text"
        case _:
            e = _text(f"{v}::text")
    return f"coalesce({e}, '')"


def line_sql(columns: Sequence[tuple[str, str]], query: Query) -> str:
    """The COPY of the query's rows as CSV lines (without their ``\\r\\n``); the zone of
    times (if any) is the parameter after the query's own."""
    tz = f"${len(query.args) + 1}::text"
    cells = " || ',' || ".join(cell_sql(key, kind, tz) for key, kind in columns)
    return f"SELECT {cells} FROM {query.source}{query.order}"


def to_csv(chunk: bytes | bytearray) -> bytes:
    """A chunk of COPY text output as CSV lines: row ends as ``\\r\\n``, escapes undone."""
    chunk = bytes(chunk).replace(b"\n", b"\r\n")
    if b"\\" in chunk:
        chunk = _ESCAPE.sub(lambda m: _ESCAPES.get(m.group(1), m.group(1)), chunk)
    return chunk


async def lines(
    columns: Sequence[tuple[str, str]], query: Query, tz: str
) -> AsyncIterator[tuple[bytes, int]]:
    """The query's rows as CSV bytes, in chunks of whole lines, each with its count."""
    queue: asyncio.Queue[bytes | Exception | None] = asyncio.Queue(maxsize=QUEUE)
    sql = line_sql(columns, query)
    args = [*query.args, tz] if any(kind == "time" for _, kind in columns) else query.args

    async def copy() -> None:
        try:
            async with connection(query.pool) as conn, conn.transaction(readonly=True):
                await conn.execute(CUSTOM_PLANS)
                await conn.execute("SELECT set_config('TimeZone', $1, true)", tz)
                await conn.copy_from_query(sql, *args, output=queue.put, timeout=COPY_TIMEOUT)
        except Exception as exc:  # handed to the reader, which raises it
            await queue.put(exc)
        else:
            await queue.put(None)

    task = asyncio.create_task(copy())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, Exception):
                raise item
            yield to_csv(item), item.count(b"\n")
    finally:
        task.cancel()
        with suppress(asyncio.CancelledError):
            await task
