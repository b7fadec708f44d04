"""Money back for tickets of a paid e-shop order refunded one by one at the back office
(the door's ticket refund, the accounting page's button): the buyer's payment owes the
tickets' prices back.

:meth:`PartRefunds.owe` runs in the ticket refund's transaction and writes, for each paid
order concerned, one ``payment_refunds`` row (``due``) with the tickets and their total.
After the commit the refunding process calls :meth:`PartRefunds.settle`, which asks the
provider; so does the refund worker of every process (``server.app``), so a provider that
fails, or a process that dies between the commit and the provider, leaves a row that any
process settles later. One process at a time settles (an advisory lock), and the row's id is
the provider's idempotency key: a refund is paid once however often it is tried.

A ticket sold at a register never gets here (its refund goes through the journal, which
pays it out of a drawer); a free ticket, an unpaid order or a desk order owes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from server.payments.provider import Provider
from server.platform.db import connection
from server.platform.errors import DomainError
from server.platform.failpoints import failpoint

log = logging.getLogger(__name__)

PART_REFUNDS_LOCK = 7_482_004  # advisory lock id: one settling round at a time
ROUND = 50  # refunds asked for per round

_OWE = """
INSERT INTO payment_refunds (payment_id, amount_cents, currency, ticket_ids)
SELECT p.id, sum(t.price_cents), p.currency, array_agg(t.id ORDER BY t.id)
FROM tickets t
JOIN payments p ON p.order_id = t.order_id AND p.status = 'succeeded'
WHERE t.id = ANY($1::bigint[]) AND t.price_cents > 0
GROUP BY p.id, p.currency
"""


def refund_key(refund_id: int) -> str:
    """The provider's idempotency key of a part refund."""
    return f"part-refund-{refund_id}"


class PartRefunds:
    def __init__(self, pool: asyncpg.Pool, provider: Provider | None) -> None:
        self.pool = pool
        self.provider = provider

    async def owe(self, conn: asyncpg.Connection, tickets: Sequence[asyncpg.Record]) -> None:
        """In the ticket refund's transaction (``tickets``: the rows it refunded)."""
        await conn.execute(_OWE, [t["id"] for t in tickets])

    async def settle(self) -> int:
        """Ask the provider for the refunds due, oldest first; returns how many were paid.
        A refusal or an unreachable provider leaves the refund due for the next round."""
        if self.provider is None:
            return 0
        paid = 0
        async with connection(self.pool) as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", PART_REFUNDS_LOCK):
                return 0  # another process is settling: it sees these rows too
            try:
                due = await conn.fetch(
                    "SELECT r.id, r.amount_cents, r.currency, p.provider_ref"
                    " FROM payment_refunds r JOIN payments p ON p.id = r.payment_id"
                    " WHERE r.status = 'due' AND p.provider = $1 ORDER BY r.id LIMIT $2",
                    self.provider.name,
                    ROUND,
                )
                for row in due:
                    paid += await self._pay(conn, row)
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", PART_REFUNDS_LOCK)
        return paid

    async def _pay(self, conn: asyncpg.Connection, row: asyncpg.Record) -> int:
        assert self.provider is not None
        try:
            ref = await self.provider.refund(
                row["provider_ref"], row["amount_cents"], row["currency"], refund_key(row["id"])
            )
        except (DomainError, OSError) as exc:
            log.warning("part refund %s failed, retried later: %s", row["id"], exc)
            return 0
        await failpoint("payments.part_refund_paid")  # paid, not yet recorded
        await conn.execute(
            "UPDATE payment_refunds SET status = 'refunded', refund_ref = $2,"
            " refunded_at = now() WHERE id = $1 AND status = 'due'",
            row["id"],
            ref,
        )
        return 1
