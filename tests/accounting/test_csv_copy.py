"""The CSV formatted by Postgres (``COPY``) is byte for byte what the Python writer makes of
the same rows: amounts, times in odd zones, texts that need quoting, formula escapes,
control characters and backslashes, NULLs; and a client that goes away stops the COPY."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import AsyncGenerator, AsyncIterator, Sequence
from typing import Any, cast
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from server.accounting.csvcopy import Query
from server.accounting.exports import Column, Sheet, csv_chunks
from tests import support

COLUMNS = (
    Column("at", "time"),
    Column("n", "int"),
    Column("cents", "cents", "amount"),
    Column("bp", "percent", "rate"),
    Column("label"),
    Column("day", "day"),
    Column("code", "code"),
)
CODES = ["eshop", "card+cash", "EUR", None]
TEXTS = [
    "plain",
    "a, comma",
    'say "hi"',
    "two\nlines",
    "cr\rhere",
    "crlf\r\nend",
    "tab\tinside",
    "back\\slash \\n not a newline",
    "=SUM(A1)",
    "+33 6",
    "-minus",
    "@at",
    "\tlead tab",
    "\rlead cr",
    "",
    "ünïcödé €",
    " spaced ",
    "\\",
    "bell\x07 and \x0b vt \x0c ff \x08 bs",
]
CENTS = [0, 5, -5, 99, -100, 1250, -1250, 123456789, None]
TIMES = [
    "2030-01-10 12:00:00+00",
    "2030-07-10 12:34:56.5+00",
    "2030-03-31 00:59:59.000001+00",
    "1905-06-01 10:00:00+00",  # Paris before 1911: an offset with seconds (+00:09:21)
    None,
]


@pytest.fixture
async def pool(services: None) -> AsyncIterator[asyncpg.Pool]:
    p = await asyncpg.create_pool(support.testing_database_url(), min_size=1, max_size=2)
    try:
        yield p
    finally:
        await p.close()


def _source() -> tuple[str, list[object]]:
    rows = []
    for i, text in enumerate([*TEXTS, None]):
        rows.append(
            (
                TIMES[i % len(TIMES)],
                None if i % 7 == 3 else i * 1000 - 5,
                CENTS[i % len(CENTS)],
                CENTS[(i + 3) % len(CENTS)],
                text,
                None if i % 5 == 4 else f"2030-01-{i % 28 + 1:02d}",
                CODES[i % len(CODES)],
            )
        )
    values = ", ".join(
        f"(${7 * k + 1}::text::timestamptz, ${7 * k + 2}::bigint, ${7 * k + 3}::bigint,"
        f" ${7 * k + 4}::int, ${7 * k + 5}::text, ${7 * k + 6}::text::date, ${7 * k + 7}::text)"
        for k in range(len(rows))
    )
    args: list[object] = [v for row in rows for v in row]
    return f"(VALUES {values}) s (at, n, cents, bp, label, day, code)", args


async def _text(chunks: AsyncIterator[bytes]) -> bytes:
    return b"".join([c async for c in chunks])


def _python(pool: asyncpg.Pool, source: str, args: Sequence[Any]) -> Sheet:
    async def rows() -> AsyncIterator[Sequence[Any]]:
        async with pool.acquire() as conn:
            yield await conn.fetch(f"SELECT * FROM {source} ORDER BY n NULLS FIRST", *args)

    return Sheet("t", COLUMNS, rows)


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/Paris", "Asia/Kathmandu", "America/St_Johns", "Pacific/Chatham"]
)
async def test_postgres_writes_the_csv_the_python_writer_does(
    pool: asyncpg.Pool, zone: str
) -> None:
    source, args = _source()
    tz = ZoneInfo(zone)
    query = Query(pool, source, " ORDER BY n NULLS FIRST", args)
    by_python = _python(pool, source, args)
    python = await _text(csv_chunks([by_python], tz))
    copied = await _text(csv_chunks([Sheet("t", COLUMNS, by_python.rows, query)], tz))
    assert copied == python
    rows = list(csv.reader(io.StringIO(copied.decode("utf-8-sig"), newline="")))
    assert len(rows) == 1 + len(TEXTS) + 1
    assert sorted(r[4] for r in rows[1:]) == sorted(
        ("'" + t if t[:1] in "=+-@\t\r" and t else t) for t in [*TEXTS, ""]
    )


async def test_a_reader_that_goes_away_ends_the_copy(pool: asyncpg.Pool) -> None:
    query = Query(
        pool,
        "(SELECT g AS n, g::bigint AS cents FROM generate_series(1, 10000000) g) s",
        " ORDER BY n",
        [],
    )
    sheet = Sheet("t", (Column("n", "int"), Column("cents", "cents")), _never, query)
    chunks = csv_chunks([sheet], ZoneInfo("UTC"))
    got = [await anext(chunks) for _ in range(4)]
    assert got[0] == b"\xef\xbb\xbf" and got[1] == b"n,cents\r\n"
    assert got[2].startswith(b"1,0.01\r\n2,0.02\r\n")
    await cast(AsyncGenerator[bytes, None], chunks).aclose()
    async with pool.acquire() as conn:
        for _ in range(50):
            busy = await conn.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                " AND query LIKE 'COPY (SELECT%generate_series%'"
            )
            if busy == 0:
                break
            await asyncio.sleep(0.1)
    assert busy == 0
    assert pool.get_idle_size() >= 1


async def _never() -> AsyncIterator[Sequence[Any]]:
    raise AssertionError("the COPY path reads no rows in Python")
    yield []
