"""Statements as files: CSV streamed from a Postgres cursor, XLSX written with xlsxwriter in
constant-memory mode to a temporary file (off the event loop) and then streamed.

A statement is one or more ``Sheet``s: a title, its columns and an async source of row
batches. Amounts are integer cents in the database; the files show them as numbers with two
decimals (CSV: ``12.50``; XLSX: a number in the ``0.00`` format). Times are ISO 8601 with
their offset in the CSV and Excel dates (local time of the statement's zone) in the XLSX.
A text cell that a spreadsheet would read as a formula is written with a leading quote.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

import asyncpg
import xlsxwriter
from starlette.responses import StreamingResponse

from server.accounting.csvcopy import Query, lines
from server.accounting.period import planned
from server.platform.db import connection

Kind = Literal["text", "code", "int", "cents", "percent", "time", "day"]
"""``code``: a text the application writes from a closed list (a channel, a currency):
nothing to quote or escape, so the CSV by Postgres writes it as it is."""
Rows = Callable[[], AsyncIterator[Sequence[Any]]]
"""Opens the sheet's source: batches of rows (mappings by column key)."""
Counted = Callable[[int], Awaitable[None]]
"""Told how many lines were written, as they are."""
BOM = "\ufeff".encode()
BATCH = 1000
CHUNK = 64 * 1024
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


@dataclass(frozen=True, slots=True)
class Column:
    key: str
    kind: Kind = "text"
    header: str = ""

    @property
    def title(self) -> str:
        return self.header or self.key


@dataclass(frozen=True, slots=True)
class Sheet:
    """A sheet's rows; with a ``query`` too, its CSV is formatted by Postgres
    (``csvcopy``) rather than row by row in Python."""

    title: str
    columns: tuple[Column, ...]
    rows: Rows
    query: Query | None = None


async def batches(
    pool: asyncpg.Pool, sql: str, args: Sequence[object], batch: int = 1000
) -> AsyncIterator[list[asyncpg.Record]]:
    """The rows of ``sql`` in batches, read through a cursor in one transaction."""
    async with connection(pool) as conn, planned(conn):
        rows: list[asyncpg.Record] = []
        async for row in conn.cursor(sql, *args, prefetch=batch):
            rows.append(row)
            if len(rows) == batch:
                yield rows
                rows = []
        if rows:
            yield rows


def amount(cents: int) -> str:
    """``1250`` → ``12.50``, ``-5`` → ``-0.05``: exact, no float."""
    sign = "-" if cents < 0 else ""
    whole, part = divmod(abs(cents), 100)
    return f"{sign}{whole}.{part:02d}"


def text_cell(value: str) -> str:
    """A text a spreadsheet shows as text: one starting like a formula gets a quote."""
    return "'" + value if value[:1] in FORMULA_START else value


def csv_cell(column: Column, value: Any, tz: ZoneInfo) -> Any:
    if value is None:
        return ""
    match column.kind:
        case "cents":
            return amount(value)
        case "percent":
            return amount(value)  # basis points are hundredths of a percent
        case "time":
            return value.astimezone(tz).isoformat()
        case "day":
            return value if isinstance(value, str) else value.isoformat()
        case "text" | "code":
            return text_cell(str(value))
    return value


def csv_rows(rows: Sequence[Any], columns: Sequence[Column], tz: ZoneInfo) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(c, row[c.key], tz) for c in columns])
    return out.getvalue()


async def csv_chunks(
    sheets: Sequence[Sheet], tz: ZoneInfo, counted: Counted | None = None
) -> AsyncIterator[bytes]:
    """The sheets as CSV, the BOM first. One sheet: its header and rows. Several: each
    starts with a row holding its title and ends with an empty row."""
    yield BOM
    for sheet in sheets:
        head = io.StringIO()
        writer = csv.writer(head)
        if len(sheets) > 1:
            writer.writerow([sheet.title])
        writer.writerow([c.title for c in sheet.columns])
        yield head.getvalue().encode()
        async for chunk, n in _lines(sheet, tz):
            yield chunk
            if counted is not None:
                await counted(n)
        if len(sheets) > 1:
            yield b"\r\n"


async def _lines(sheet: Sheet, tz: ZoneInfo) -> AsyncIterator[tuple[bytes, int]]:
    if sheet.query is not None:
        kinds = [(c.key, c.kind) for c in sheet.columns]
        async for chunk, n in lines(kinds, sheet.query, tz.key):
            yield chunk, n
        return
    async for batch in sheet.rows():
        yield csv_rows(batch, sheet.columns, tz).encode(), len(batch)


def csv_response(sheets: Sequence[Sheet], tz: ZoneInfo, filename: str) -> StreamingResponse:
    return StreamingResponse(
        csv_chunks(sheets, tz),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'},
    )


class _Book:
    """An xlsxwriter workbook in constant-memory mode; every call runs in a worker thread."""

    def __init__(self, path: str, tz: ZoneInfo) -> None:
        self.tz = tz
        self.book = xlsxwriter.Workbook(
            path, {"constant_memory": True, "in_memory": False, "strings_to_formulas": False}
        )
        self.formats = {
            "cents": self.book.add_format({"num_format": "0.00"}),
            "percent": self.book.add_format({"num_format": "0.00"}),
            "time": self.book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"}),
            "day": self.book.add_format({"num_format": "yyyy-mm-dd"}),
            "head": self.book.add_format({"bold": True}),
        }
        self.sheet: Any = None
        self.row = 0

    def start(self, sheet: Sheet) -> None:
        self.sheet = self.book.add_worksheet(sheet.title[:31])
        for i, column in enumerate(sheet.columns):
            self.sheet.write_string(0, i, column.title, self.formats["head"])
            self.sheet.set_column(i, i, 20 if column.kind in ("time", "text", "code") else 12)
        self.row = 1

    def write(self, rows: Sequence[Any], columns: Sequence[Column]) -> None:
        """The rows, a column kind after the other within each row (constant-memory mode
        only needs the rows in order): one typed xlsxwriter call per cell, no dispatch."""
        sheet, tz, r = self.sheet, self.tz, self.row
        number, string, when = sheet.write_number, sheet.write_string, sheet.write_datetime
        by_kind: dict[str, list[tuple[int, str]]] = {}
        for i, column in enumerate(columns):
            by_kind.setdefault(column.kind, []).append((i, column.key))
        texts = by_kind.get("text", []) + by_kind.get("code", [])
        ints = by_kind.get("int", [])
        cents = by_kind.get("cents", []) + by_kind.get("percent", [])
        times, days = by_kind.get("time", []), by_kind.get("day", [])
        two, at = self.formats["cents"], self.formats["time"]
        for row in rows:
            for i, key in texts:
                if (v := row[key]) is not None:
                    v = str(v)
                    string(r, i, "'" + v if v[:1] in FORMULA_START else v)
            for i, key in ints:
                if (v := row[key]) is not None:
                    number(r, i, v)
            for i, key in cents:
                if (v := row[key]) is not None:
                    number(r, i, v / 100, two)
            for i, key in times:
                if (v := row[key]) is not None:
                    when(r, i, v.astimezone(tz).replace(tzinfo=None), at)
            for i, key in days:
                if (v := row[key]) is not None:
                    day = v if isinstance(v, date) else date.fromisoformat(v)
                    when(r, i, datetime.combine(day, datetime.min.time()), self.formats["day"])
            r += 1
        self.row = r

    def close(self) -> None:
        self.book.close()


async def write_xlsx(sheets: Sequence[Sheet], tz: ZoneInfo, path: str) -> None:
    book = await asyncio.to_thread(_Book, path, tz)
    try:
        for sheet in sheets:
            await asyncio.to_thread(book.start, sheet)
            async for batch in sheet.rows():
                await asyncio.to_thread(book.write, batch, sheet.columns)
    finally:
        await asyncio.to_thread(book.close)


def _read(f: BinaryIO) -> Iterator[bytes]:
    with f:
        while chunk := f.read(CHUNK):
            yield chunk


async def xlsx_response(sheets: Sequence[Sheet], tz: ZoneInfo, filename: str) -> StreamingResponse:
    """The workbook, written to a temporary file first (a ZIP is only complete at its end),
    then streamed from the open file, whose name is removed at once: nothing is left on
    disk whether the client reads it all or goes away."""
    fd, path = tempfile.mkstemp(prefix="guichet-", suffix=".xlsx")
    os.close(fd)
    try:
        await write_xlsx(sheets, tz, path)
        f = await asyncio.to_thread(open, path, "rb")
        size = os.fstat(f.fileno()).st_size
    finally:
        os.unlink(path)
    return StreamingResponse(
        _read(f),
        media_type=XLSX,
        headers={
            "Content-Disposition": f'attachment; filename="{filename}.xlsx"',
            "Content-Length": str(size),
        },
    )
