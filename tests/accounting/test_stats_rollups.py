"""The statistics' rollups are the base tables summed, after any write the figures depend
on: a sale, a journal entry for an order, a cart's products (new rows, found by the
refresh above its watermarks), a reservation paid or turned back, a refund, an entry undone
(rows changed, marked by triggers). Checked against the same queries run over every ticket
and every line. The writes made here directly in SQL are rolled back at the end."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable

import asyncpg
import pytest

from server.accounting.rollups import Scan
from server.cash.journal import Draft, LineDraft, PaymentDraft, append
from tests import support
from tests.accounting.helpers import FULL, FULL_RATE, Trade, new_article
from tests.accounting.rollup_helpers import agree
from tests.support import Api
from till.money import Kind


class _Undo(Exception):
    pass


Write = Callable[[asyncpg.Connection], Awaitable[None]]


def _new_rows(day: Trade, article: int) -> list[Write]:
    """Writes that only insert (no trigger marks them): an e-shop order and its ticket, a
    desk's journal entry for that order (its ticket leaves the e-shop's lines), a cart's
    article."""
    made: dict[str, int] = {}

    async def shop_sale(conn: asyncpg.Connection) -> None:
        made["order"] = await conn.fetchval(
            "INSERT INTO orders (idempotency_key, session_id, hold_token, channel, total_cents,"
            " currency) VALUES ($1, $2, 'h', 'web', $3, 'EUR') RETURNING id",
            uuid.uuid4().hex,
            day.session_id,
            FULL,
        )
        made["ticket"] = await conn.fetchval(
            "INSERT INTO tickets (order_id, session_id, tariff_id, price_cents)"
            " VALUES ($1, $2, $3, $4) RETURNING id",
            made["order"],
            day.session_id,
            day.tariffs[0],
            FULL,
        )

    async def journalled(conn: asyncpg.Connection) -> None:
        line = LineDraft("Full", 1, FULL, FULL_RATE, made["ticket"], day.tariffs[0])
        pay = (PaymentDraft("card", FULL),)
        draft = Draft(Kind.SALE, "EUR", pay, (line,), order_id=made["order"])
        await append(conn, day.register_id, day.register_session_id, day.cashier_id, draft)

    async def cart(conn: asyncpg.Connection) -> None:
        order = await conn.fetchval(
            "INSERT INTO orders (idempotency_key, hold_token, channel, total_cents, currency,"
            " kind) VALUES ($1, 'h', 'web', 450, 'EUR', 'cart') RETURNING id",
            uuid.uuid4().hex,
        )
        await conn.execute(
            "INSERT INTO order_products (order_id, article_id, description, quantity,"
            " unit_cents, tax_rate_bp, net_cents, tax_cents, gross_cents)"
            " VALUES ($1, $2, 'Cup', 1, 450, 2000, 375, 75, 450)",
            order,
            article,
        )

    return [shop_sale, journalled, cart]


async def _changes(conn: asyncpg.Connection, day: Trade) -> list[Write]:
    """Writes that change rows after their insert."""
    sold = await conn.fetchrow(
        "SELECT t.id, t.order_id, t.session_id FROM tickets t"
        " JOIN orders o ON o.id = t.order_id"
        " WHERE o.kind = 'sale' AND t.status = 'active' AND t.session_id = $1"
        "   AND NOT EXISTS (SELECT 1 FROM journal j WHERE j.order_id = o.id)"
        " ORDER BY t.id DESC LIMIT 1",
        day.session_id,
    )

    async def reserved(conn: asyncpg.Connection) -> None:  # an e-shop order turned back
        await conn.execute("UPDATE orders SET kind = 'reservation' WHERE id = $1", sold[1])

    async def paid(conn: asyncpg.Connection) -> None:  # then paid again, a day earlier
        await conn.execute(
            "UPDATE orders SET kind = 'sale', created_at = created_at - interval '1 day'"
            " WHERE id = $1",
            sold[1],
        )

    async def refunded(conn: asyncpg.Connection) -> None:  # the revocation, then the status
        await conn.execute(
            "INSERT INTO revocations (ticket_id, seed, reason) VALUES ($1, '\\x00', 'refunded')",
            sold[0],
        )
        await conn.execute("UPDATE tickets SET status = 'refunded' WHERE id = $1", sold[0])

    async def undone(conn: asyncpg.Connection) -> None:  # an entry undone
        await conn.execute(
            "DELETE FROM entries WHERE (session_id, ticket_id) IN"
            " (SELECT session_id, ticket_id FROM entries ORDER BY entered_at DESC LIMIT 1)"
        )

    return [reserved, paid, refunded, undone]


@pytest.fixture
async def article(admin: Api) -> int:
    return await new_article(admin, f"Cup {uuid.uuid4().hex[:6]}")


async def test_the_rollups_are_the_base_tables_summed_after_each_write(
    day: Trade, article: int
) -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        assert await agree(conn)  # after the trade made through the API
        with pytest.raises(_Undo):
            async with conn.transaction():
                for write in _new_rows(day, article) + await _changes(conn, day):
                    await write(conn)
                    assert await agree(conn), write.__name__
                raise _Undo
        assert await agree(conn)  # the rollback's marks brought back the figures as they were
    finally:
        await conn.close()


async def test_control_without_the_scan_new_rows_are_missed(day: Trade, article: int) -> None:
    """The same inserts, refreshed without scanning above the watermarks: each one leaves
    the rollups wrong (the scan is what makes the test above pass); scanned, right again."""
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        with pytest.raises(_Undo):
            async with conn.transaction():
                for write in _new_rows(day, article):
                    assert await agree(conn)
                    await write(conn)
                    assert not await agree(conn, Scan.OFF), write.__name__
                    assert await agree(conn), write.__name__
                raise _Undo
        assert await agree(conn)
    finally:
        await conn.close()
