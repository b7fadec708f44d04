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
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, BinaryIO, Literal
from zoneinfo import ZoneInfo

import asyncpg
import xlsxwriter
from starlette.responses import StreamingResponse

from server.platform.db import connection

Kind = Literal["text", "int", "cents", "percent", "time", "day"]
Rows = Callable[[], AsyncIterator[Sequence[Any]]]
"""Opens the sheet's source: batches of rows (mappings by column key)."""
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
    title: str
    columns: tuple[Column, ...]
    rows: Rows


async def batches(
    pool: asyncpg.Pool, sql: str, args: Sequence[object], batch: int = 1000
) -> AsyncIterator[list[asyncpg.Record]]:
    """The rows of ``sql`` in batches, read through a cursor in one transaction."""
    async with connection(pool) as conn, conn.transaction(readonly=True):
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
        case "text":
            return text_cell(str(value))
    return value


def csv_rows(rows: Sequence[Any], columns: Sequence[Column], tz: ZoneInfo) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    for row in rows:
        writer.writerow([csv_cell(c, row[c.key], tz) for c in columns])
    return out.getvalue()


async def csv_chunks(sheets: Sequence[Sheet], tz: ZoneInfo) -> AsyncIterator[str]:
    """The sheets as CSV, the BOM first. One sheet: its header and rows. Several: each
    starts with a row holding its title and ends with an empty row."""
    yield "\ufeff"
    for sheet in sheets:
        head = io.StringIO()
        writer = csv.writer(head)
        if len(sheets) > 1:
            writer.writerow([sheet.title])
        writer.writerow([c.title for c in sheet.columns])
        yield head.getvalue()
        async for batch in sheet.rows():
            yield csv_rows(batch, sheet.columns, tz)
        if len(sheets) > 1:
            yield "\r\n"


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
            self.sheet.set_column(i, i, 20 if column.kind in ("time", "text") else 12)
        self.row = 1

    def write(self, rows: Sequence[Any], columns: Sequence[Column]) -> None:
        for row in rows:
            for i, column in enumerate(columns):
                self._cell(i, column, row[column.key])
            self.row += 1

    def _cell(self, i: int, column: Column, value: Any) -> None:
        r, sheet = self.row, self.sheet
        if value is None:
            return
        match column.kind:
            case "cents" | "percent":
                sheet.write_number(r, i, value / 100, self.formats[column.kind])
            case "int":
                sheet.write_number(r, i, value)
            case "time":
                local = value.astimezone(self.tz).replace(tzinfo=None)
                sheet.write_datetime(r, i, local, self.formats["time"])
            case "day":
                day = value if isinstance(value, date) else date.fromisoformat(value)
                sheet.write_datetime(
                    r, i, datetime.combine(day, datetime.min.time()), self.formats["day"]
                )
            case _:
                sheet.write_string(r, i, text_cell(str(value)))

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
