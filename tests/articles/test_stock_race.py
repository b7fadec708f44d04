"""The last units of an article under concurrent sales at two registers: exactly as many
are sold as there are, the stock ends at zero and never goes below, and each register's
receipt numbers stay gap-free. The controls switch the guard off in the real code path
(``articles.stock_guard=off``): the table's CHECK still refuses the oversale; without it
too, the same sales oversell."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from tests import support
from tests.articles.helpers import article, point_with_register, register_at, sell, stock_of
from tests.cash.helpers import open_session, verify
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.slow

SALES = 30
UNITS = 10


@pytest.fixture
async def unguarded() -> AsyncIterator[ServerProcess]:
    """A server whose stock guard is switched off."""
    proc = ServerProcess({"GUICHET_FAILPOINTS": "articles.stock_guard=off"})
    try:
        await asyncio.to_thread(proc.wait_ready)
        yield proc
    finally:
        proc.stop()


async def race(url: str, admin: Api) -> tuple[int, Counter[str], list[int]]:
    """``SALES`` sales of one unit each of an article with ``UNITS`` left, from two
    cashiers at two registers of one point of sale, all at once: (article id, outcomes,
    registers)."""
    point, first = await point_with_register(admin)
    second = await register_at(admin, point, "Till 2")
    beer = await article(admin, stock=UNITS, point_of_sale_id=point)
    cashiers = [Api(url, await support.staff_token(admin, "pos")) for _ in range(2)]
    outcome: Counter[str] = Counter()
    try:
        sessions = [await open_session(cashiers[0], first), await open_session(cashiers[1], second)]
        results = await asyncio.gather(
            *(sell(cashiers[n % 2], sessions[n % 2], [(beer["id"], 1)], 500) for n in range(SALES))
        )
    finally:
        for c in cashiers:
            await c.close()
    for r in results:
        outcome["sold" if r.status_code == 201 else r.json()["error"]["code"]] += 1
    return beer["id"], outcome, [first, second]


async def sold_units(article_id: int) -> int:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        sold: int = await conn.fetchval(
            "SELECT coalesce(sum(quantity), 0) FROM journal_lines WHERE article_id = $1",
            article_id,
        )
        return sold
    finally:
        await conn.close()


async def test_the_last_units_are_sold_exactly_once_across_two_registers(
    server: ServerProcess, admin: Api
) -> None:
    article_id, outcome, registers = await race(server.url, admin)
    assert outcome == {"sold": UNITS, "out_of_stock": SALES - UNITS}
    assert await stock_of(article_id) == 0
    assert await sold_units(article_id) == UNITS
    for register_id in registers:
        assert await verify(register_id) is None  # receipts 1, 2, 3… with no gap


async def test_control_without_the_guard_the_check_still_refuses_the_oversale(
    unguarded: ServerProcess, admin: Api
) -> None:
    article_id, outcome, _ = await race(unguarded.url, admin)
    assert outcome == {"sold": UNITS, "out_of_stock": SALES - UNITS}
    assert await stock_of(article_id) == 0


async def test_control_without_the_guard_and_the_check_the_same_sales_oversell(
    unguarded: ServerProcess, admin: Api
) -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    await conn.execute("ALTER TABLE articles DROP CONSTRAINT articles_stock_not_negative")
    try:
        article_id, outcome, registers = await race(unguarded.url, admin)
    finally:
        # The oversold row is made valid again (as if allowed below zero), so the
        # constraint comes back for the tests that follow.
        await conn.execute("UPDATE articles SET allow_negative = true WHERE stock < 0")
        await conn.execute(
            "ALTER TABLE articles ADD CONSTRAINT articles_stock_not_negative"
            " CHECK (stock >= 0 OR allow_negative)"
        )
        await conn.close()
    assert outcome == {"sold": SALES}
    assert await stock_of(article_id) == UNITS - SALES
    assert await sold_units(article_id) == SALES
    for register_id in registers:
        assert await verify(register_id) is None
