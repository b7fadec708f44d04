"""The refresh finds new rows above a watermark of their ids; ids are handed out in
nextval's order, not in commit order. A row whose transaction commits after a higher id
was seen (and refreshed) is still counted, once; the naive watermark (the highest id seen)
loses it, which is the control. Then random interleavings of inserts, commits, rollbacks
and refreshes on several connections. The rows written here are committed: orders of 2001
in sessions of their own, apart from every other test's periods."""

from __future__ import annotations

import asyncio
import itertools
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.accounting.rollups import Scan, refresh
from tests import support
from tests.accounting.helpers import FULL, new_article, new_session
from tests.accounting.rollup_helpers import agree, sold
from tests.support import Api, ServerProcess

PAID = "2001-01-01T10:00:00+00:00"
CART_PAID = "2001-01-01T12:00:00+00:00"
"""Apart from the tickets' quarter: a quarter recomputed for a cart is right again for
every line in it, the tickets' too."""
_SEATS = itertools.count(1)
"""Each ticket on a seat of its own: a general admission's counter row would make a second
writer wait for the first."""


async def _ticket(conn: asyncpg.Connection, session_id: int, tariff_id: int) -> int:
    """An e-shop sale of 2001: its order and its ticket; the ticket's id."""
    order = await conn.fetchval(
        "INSERT INTO orders (idempotency_key, session_id, hold_token, channel, total_cents,"
        " currency, created_at) VALUES ($1, $2, 'h', 'web', $3, 'EUR', $4::text::timestamptz)"
        " RETURNING id",
        uuid.uuid4().hex,
        session_id,
        FULL,
        PAID,
    )
    ticket: int = await conn.fetchval(
        "INSERT INTO tickets (order_id, session_id, tariff_id, price_cents, seat_idx)"
        " VALUES ($1, $2, $3, $4, $5) RETURNING id",
        order,
        session_id,
        tariff_id,
        FULL,
        next(_SEATS),
    )
    return ticket


async def _product(conn: asyncpg.Connection, order_id: int, article_id: int) -> int:
    product: int = await conn.fetchval(
        "INSERT INTO order_products (order_id, article_id, description, quantity, unit_cents,"
        " tax_rate_bp, net_cents, tax_cents, gross_cents)"
        " VALUES ($1, $2, 'Cup', 1, 450, 2000, 375, 75, 450) RETURNING id",
        order_id,
        article_id,
    )
    return product


async def _cart(conn: asyncpg.Connection) -> int:
    """A cart order of 2001 (its products are inserted apart)."""
    order: int = await conn.fetchval(
        "INSERT INTO orders (idempotency_key, hold_token, channel, total_cents, currency, kind,"
        " created_at) VALUES ($1, 'h', 'web', 450, 'EUR', 'cart', $2::text::timestamptz)"
        " RETURNING id",
        uuid.uuid4().hex,
        CART_PAID,
    )
    return order


async def _cart_lines(conn: asyncpg.Connection, order_id: int) -> int:
    """The lines of the e-shop in the rollup of the cart's quarter."""
    found = await conn.fetchval(
        "SELECT sum(q.lines) FROM stats_sales_quarters q JOIN orders o"
        " ON q.quarter = stats_quarter(o.created_at) AND q.channel = 'eshop' WHERE o.id = $1",
        order_id,
    )
    return int(found or 0)


@pytest.fixture
async def conns() -> AsyncIterator[list[asyncpg.Connection]]:
    """Two writers and the refresh's connection."""
    made = [await asyncpg.connect(support.testing_database_url()) for _ in range(3)]
    try:
        yield made
    finally:
        for conn in made:
            await conn.close()


async def _late_ticket(conns: list[asyncpg.Connection], admin: Api, scan: Scan) -> int:
    """A holds the lower ticket id, open, while B's higher one commits and the refresh runs
    (twice: the second would settle a watermark); then A commits and the refresh runs
    again. The session's places sold, as rolled up."""
    a, b, r = conns
    session_id, tariffs = await new_session(admin)
    await refresh(r)
    open_a = a.transaction()
    await open_a.start()
    first = await _ticket(a, session_id, tariffs[0])
    async with b.transaction():
        second = await _ticket(b, session_id, tariffs[0])
    assert first < second
    await refresh(r, scan)
    await refresh(r, scan)
    assert await sold(r, session_id) == 1  # B's, already
    await open_a.commit()
    await refresh(r, scan)
    return await sold(r, session_id)


async def _late_product(conns: list[asyncpg.Connection], article: int, scan: Scan) -> int:
    """The same with a cart's products: A's lower id commits after B's."""
    a, b, r = conns
    order = await _cart(r)
    await refresh(r)
    before = await _cart_lines(r, order)  # the other carts of its quarter
    open_a = a.transaction()
    await open_a.start()
    first = await _product(a, order, article)
    async with b.transaction():
        second = await _product(b, order, article)
    assert first < second
    await refresh(r, scan)
    await refresh(r, scan)
    assert await _cart_lines(r, order) - before == 1
    await open_a.commit()
    await refresh(r, scan)
    return await _cart_lines(r, order) - before


async def test_a_ticket_committed_after_a_higher_one_is_counted_once(
    conns: list[asyncpg.Connection], admin: Api
) -> None:
    assert await _late_ticket(conns, admin, Scan.SAFE) == 2
    assert await agree(conns[2])


async def test_a_product_committed_after_a_higher_one_is_counted_once(
    conns: list[asyncpg.Connection], admin: Api
) -> None:
    article = await new_article(admin, f"Cup {uuid.uuid4().hex[:6]}")
    assert await _late_product(conns, article, Scan.SAFE) == 2
    assert await agree(conns[2])


async def _restoring(r: asyncpg.Connection) -> list[asyncpg.Record]:
    return await r.fetch("SELECT source, done, candidate FROM stats_watermarks")


async def _restore(r: asyncpg.Connection, saved: list[asyncpg.Record]) -> None:
    """The watermarks as they were before a control moved them past rows (lowering one is
    always safe: it only scans again)."""
    for w in saved:
        await r.execute(
            "UPDATE stats_watermarks SET done = $2, candidate = $3, waiting = '{}'"
            " WHERE source = $1",
            *w,
        )


async def test_control_the_highest_id_seen_as_watermark_loses_the_late_rows(
    conns: list[asyncpg.Connection], admin: Api
) -> None:
    r = conns[2]
    article = await new_article(admin, f"Cup {uuid.uuid4().hex[:6]}")
    saved = await _restoring(r)
    try:
        assert await _late_ticket(conns, admin, Scan.NAIVE) == 1
        assert await _late_product(conns, article, Scan.NAIVE) == 1
        assert not await agree(r, Scan.NAIVE)  # however often it refreshes
    finally:
        await _restore(r, saved)
    assert await agree(r)  # scanned again from the old watermarks: found, and right


WRITERS = 2
_PLAN = [
    *(
        f"{what} {i}"
        for what in ("ticket", "product", "commit", "ticket", "commit")
        for i in (0, 1)
    ),
    "ticket 0",
    "rollback 0",
    *["refresh"] * 5,
]
"""Each writer inserts and commits twice, one insert is rolled back, five refreshes: in an
order drawn at random (a commit or a rollback with nothing open does nothing)."""


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.permutations(_PLAN))
def test_any_interleaving_of_inserts_commits_and_refreshes_is_counted_exactly(
    steps: list[str], server: ServerProcess, admin_token: str
) -> None:
    """Two writers insert tickets and cart products, commit or roll back, in any order,
    with refreshes between: after each refresh (and at the end) the rollups are exactly the
    recomputation over what is committed."""

    async def run() -> None:
        admin = Api(server.url, admin_token)
        writers = [await asyncpg.connect(support.testing_database_url()) for _ in range(WRITERS)]
        r = await asyncpg.connect(support.testing_database_url())
        try:
            session_id, tariffs = await new_session(admin)
            article = await new_article(admin, f"Cup {uuid.uuid4().hex[:6]}")
            order = await _cart(r)
            open_ = [w.transaction() for w in writers]
            started = [False] * WRITERS
            for step in steps:
                what, _, n = step.partition(" ")
                i = int(n or 0)
                if what in ("ticket", "product") and not started[i]:
                    open_[i] = writers[i].transaction()
                    await open_[i].start()
                    started[i] = True
                if what == "ticket":
                    await _ticket(writers[i], session_id, tariffs[0])
                elif what == "product":
                    await _product(writers[i], order, article)
                elif what in ("commit", "rollback") and started[i]:
                    await (open_[i].commit() if what == "commit" else open_[i].rollback())
                    started[i] = False
                elif what == "refresh":
                    assert await agree(r)
            for i in range(WRITERS):
                if started[i]:
                    await open_[i].commit()
            assert await agree(r)
        finally:
            for conn in [*writers, r]:
                await conn.close()
            await admin.close()

    asyncio.run(run())
