"""Payments of shop orders: create one at the provider, take its word (webhook or the
buyer's return, whichever comes first), confirm the order or give the money back.

Every decision about a payment is one Postgres transaction that locks its row, so a
webhook and a return arriving together take turns, and a second delivery changes nothing.
A success sells the order exactly as a desk sale would (tickets, ``sell`` outbox entry),
after making sure in Redis that its seats are still its own: its hold, still claimed, or,
once the hold expired, a new hold of the same seats if they are free. Seats gone (held or
sold by someone else, or refused by Postgres's unique index) mean an automatic refund:
never a double sale, never money without tickets.
"""

from __future__ import annotations

import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from seatmap.holds import CLAIM_GRACE_MS
from server.payments.links import order_link
from server.payments.mail import enqueue
from server.payments.provider import Outcome, Provider
from server.platform.db import connection
from server.platform.errors import DomainError, NotFound
from server.platform.failpoints import failpoint
from server.sales import pending
from server.sales.pending import PendingOrder
from server.seating.live import HoldRefused, Live
from server.seating.outbox import Op, Outbox

log = logging.getLogger(__name__)
REFUNDS_LOCK = 7_482_003  # advisory lock id: one refund round at a time across processes

PAID = ("succeeded", "refund_due", "refunded")
LATE_HOLD_MS = 60_000  # a late payment's new hold: just long enough to commit


After = Callable[[], Awaitable[None]]
"""What Redis (and the live channels) must learn once a decision is committed."""


class CartOrders(Protocol):
    """Orders of the shop's cart (several sessions, passes, articles: ``server/shop``,
    wired in by ``server/app.py``; payments does not import it). Both calls run in the
    decision's transaction, under the payment row's lock; ``status`` is the order's."""

    async def paid(self, conn: asyncpg.Connection, order_id: int) -> After | None:
        """Deliver every line of the order (tickets, passes, articles), or None when one
        cannot be (seats gone, stock short): then nothing is delivered and what the order
        held is given back, and the payment is refunded."""
        ...

    async def failed(self, conn: asyncpg.Connection, order_id: int) -> After:
        """The payment failed or was abandoned: give back what the order held."""
        ...


@dataclass(frozen=True, slots=True)
class Settled:
    """What a decision did: ``sold``, ``refund`` (seats gone), ``failed``, or ``nothing``."""

    result: str
    order: PendingOrder | None = None
    token: str = ""
    entry: int = 0
    after: After | None = None
    """A cart order's work after the commit."""


class Payments:
    def __init__(
        self,
        pool: asyncpg.Pool,
        live: Live,
        outbox: Outbox,
        provider: Provider | None,
        link_secret: bytes,
        on_mail: Any = None,
    ) -> None:
        self.pool = pool
        self.live = live
        self.outbox = outbox
        self.configured = provider
        """None: the shop sells without payment (``GUICHET_PAYMENT_PROVIDER=none``)."""
        self.link_secret = link_secret
        self.on_mail = on_mail or (lambda: None)
        """Called after a commit that made an e-mail due (the mailer's wake-up)."""
        self.carts: CartOrders | None = None
        """The shop's cart orders (``server/shop/checkout.py``), set by the wiring."""

    @property
    def provider(self) -> Provider:
        if self.configured is None:
            raise NotFound("payments_off", "this server takes no online payments")
        return self.configured

    async def describe(self, order: dict[str, Any], site_url: str) -> dict[str, Any]:
        """A shop order as its buyer sees it: its private link and, while it is pending,
        its payment (created at the provider on the first call)."""
        order = {k: v for k, v in order.items() if not k.startswith("_")}
        if order["channel"] != "web":
            return order
        order["link"] = order_link(self.link_secret, order["id"])
        if order["status"] == "confirmed":
            async with connection(self.pool) as conn:
                if await enqueue(conn, order["id"], site_url):
                    self.on_mail()
        payment = await self._payment_of(order, site_url) if self.configured else None
        if payment is not None:
            order["payment"] = payment
        return order

    async def _payment_of(self, order: dict[str, Any], site_url: str) -> dict[str, Any] | None:
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow(
                "SELECT * FROM payments WHERE order_id = $1 FOR UPDATE", order["id"]
            )
            if row is None and order["status"] != "pending":
                return None
            if row is None:
                row = await conn.fetchrow(
                    "INSERT INTO payments (order_id, provider, amount_cents, currency, site_url)"
                    " VALUES ($1, $2, $3, $4, $5) ON CONFLICT (order_id) DO NOTHING RETURNING *",
                    order["id"],
                    self.provider.name,
                    order["total_cents"],
                    order["currency"],
                    site_url,
                ) or await conn.fetchrow(
                    "SELECT * FROM payments WHERE order_id = $1 FOR UPDATE", order["id"]
                )
            assert row is not None
            if row["provider_ref"] is None:
                created = await self.provider.create_payment(
                    row["amount_cents"],
                    row["currency"],
                    f"order-{order['id']}",
                    f"{site_url}/order.html#{order['link']}",
                    f"{site_url}/api/payments/{self.provider.name}/webhook",
                )
                row = await conn.fetchrow(
                    "UPDATE payments SET provider_ref = $2, redirect_url = $3, updated_at = now()"
                    " WHERE id = $1 RETURNING *",
                    row["id"],
                    created.ref,
                    created.redirect_url,
                )
                assert row is not None
        return {
            "provider": row["provider"],
            "status": row["status"],
            "redirect_url": row["redirect_url"] if row["status"] == "open" else None,
            "amount_cents": row["amount_cents"],
            "currency": row["currency"],
        }

    async def webhook(self, headers: dict[str, str], body: bytes) -> bool:
        """A provider's webhook: verified (400 ``bad_signature`` changes nothing), applied
        once per event id. False when it changed nothing."""
        event = await self.provider.verify_webhook(headers, body)
        return await self.settle(event.payment_ref, event.outcome, event.event_id)

    async def returned(self, order_id: int) -> bool:
        """The buyer is back from the provider: ask it, the webhook may be late."""
        async with connection(self.pool) as conn:
            ref = await conn.fetchval(
                "SELECT provider_ref FROM payments WHERE order_id = $1 AND status = 'open'",
                order_id,
            )
        if ref is None or self.configured is None:
            return False
        return await self.settle(ref, await self.provider.status(ref))

    async def settle(self, ref: str, outcome: Outcome, event_id: str | None = None) -> bool:
        """Apply the provider's word on payment ``ref``; False when it changed nothing."""
        async with connection(self.pool) as conn:
            async with conn.transaction():
                done = await self._decide(conn, ref, outcome, event_id)
            if done.result == "refund":
                await self._refund_now(conn, ref)
        await self._after(done)
        return done.result != "nothing"

    async def _decide(
        self, conn: asyncpg.Connection, ref: str, outcome: Outcome, event_id: str | None
    ) -> Settled:
        pay = await conn.fetchrow(
            "SELECT id, order_id, status FROM payments WHERE provider = $1 AND provider_ref = $2"
            " FOR UPDATE",
            self.provider.name,
            ref,
        )
        if pay is None:
            raise NotFound("unknown_payment", "no payment has this provider id")
        if event_id is not None:
            fresh = await conn.fetchval(
                "INSERT INTO payment_events (provider, event_id, payment_id, kind)"
                " VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING RETURNING true",
                self.provider.name,
                event_id[:200],
                pay["id"],
                outcome.value,
            )
            if not fresh:
                return Settled("nothing")  # a second delivery of the same event
        if outcome is Outcome.OPEN or pay["status"] in PAID:
            return Settled("nothing")
        kind = await conn.fetchval("SELECT kind FROM orders WHERE id = $1", pay["order_id"])
        if kind == "cart":
            return await self._decide_cart(conn, pay, outcome)
        order = await pending.load(conn, pay["order_id"], lock=True)
        if outcome is not Outcome.SUCCEEDED:
            if pay["status"] != "open":
                return Settled("nothing")
            await self._set(conn, pay["id"], outcome.value, order.id, "failed")
            return Settled("failed", order)
        return await self._paid(conn, pay["id"], order)

    async def _paid(
        self, conn: asyncpg.Connection, payment_id: int, order: PendingOrder
    ) -> Settled:
        """A succeeded payment (perhaps late, perhaps after a failure was recorded): the
        order's tickets if its seats are still its own, else a refund."""
        token = await self._seats_for(order)
        if token is not None:
            try:
                async with conn.transaction():
                    _, entry = await pending.fulfil(conn, order, token)
                    await self._set(conn, payment_id, "succeeded", order.id, "confirmed")
                    site = await conn.fetchval(
                        "SELECT site_url FROM payments WHERE id = $1", payment_id
                    )
                    await enqueue(conn, order.id, site)
                return Settled("sold", order, token, entry)
            except (asyncpg.UniqueViolationError, asyncpg.CheckViolationError):
                log.warning("order %s paid but its seats are gone: refunding", order.id)
                await self._let_go(order, token)
        await self._set(conn, payment_id, "refund_due", order.id, "refunded")
        return Settled("refund", order)

    async def _decide_cart(
        self, conn: asyncpg.Connection, pay: asyncpg.Record, outcome: Outcome
    ) -> Settled:
        """The same decision for a cart's order: every line delivered, or none and the
        whole payment refunded."""
        carts = self.carts
        if carts is None:
            raise RuntimeError("a cart order without the shop's cart wired in")
        order_id = pay["order_id"]
        if outcome is not Outcome.SUCCEEDED:
            if pay["status"] != "open":
                return Settled("nothing")
            after = await carts.failed(conn, order_id)
            await self._set(conn, pay["id"], outcome.value, order_id, "failed")
            return Settled("failed", after=after)
        delivered = await carts.paid(conn, order_id)
        if delivered is None:
            log.warning("cart order %s paid but a line is gone: refunding", order_id)
            await self._set(conn, pay["id"], "refund_due", order_id, "refunded")
            return Settled("refund")
        await self._set(conn, pay["id"], "succeeded", order_id, "confirmed")
        site = await conn.fetchval("SELECT site_url FROM payments WHERE id = $1", pay["id"])
        await enqueue(conn, order_id, site)
        return Settled("sold", after=delivered)

    @staticmethod
    async def _set(
        conn: asyncpg.Connection, payment_id: int, status: str, order_id: int, order_status: str
    ) -> None:
        await conn.execute(
            "UPDATE payments SET status = $2, updated_at = now() WHERE id = $1",
            payment_id,
            status,
        )
        await conn.execute("UPDATE orders SET status = $2 WHERE id = $1", order_id, order_status)

    async def _seats_for(self, order: PendingOrder) -> str | None:
        """A hold token that holds exactly the order's seats and places: its own hold,
        still claimed, or a new one if the seats are free; None if they are not."""
        try:
            await self.live.claim(
                order.session_id,
                order.hold_token,
                order.seats,
                order.places,
                order.idempotency_key,
                CLAIM_GRACE_MS,
            )
            return order.hold_token
        except HoldRefused:
            pass
        token = "paid-" + secrets.token_urlsafe(16)
        try:
            await self.live.hold(
                order.session_id, token, order.seats, order.places, LATE_HOLD_MS, LATE_HOLD_MS
            )
        except HoldRefused:
            return None
        return token

    async def _let_go(self, order: PendingOrder, token: str) -> None:
        """Give back what an order held (a failed payment, a refused late sale)."""
        with contextlib.suppress(DomainError, HoldRefused):
            await self.live.release(order.session_id, token, order.seats, order.places)

    async def _after(self, done: Settled) -> None:
        """After the commit: Redis learns (through the outbox), the e-mail goes."""
        if done.after is not None:
            if done.result == "sold":
                await failpoint("payments.after_commit")
            await done.after()
            if done.result == "sold":
                self.on_mail()
            return
        if done.order is None:
            return
        if done.result == "failed":
            await self._let_go(done.order, done.order.hold_token)
        elif done.result == "sold":
            await failpoint("payments.after_commit")
            args = {"token": done.token, "seats": done.order.seats, "quantity": done.order.places}
            await self.outbox.apply_now(done.entry, done.order.session_id, Op.SELL, args)
            self.on_mail()

    async def _refund_now(self, conn: asyncpg.Connection, ref: str) -> None:
        """Ask the provider to refund a payment marked ``refund_due``; a failure is left to
        :meth:`refund_due` (the worker)."""
        row = await conn.fetchrow(
            "SELECT id, amount_cents, currency FROM payments WHERE provider = $1"
            " AND provider_ref = $2 AND status = 'refund_due'",
            self.provider.name,
            ref,
        )
        if row is None:
            return
        try:
            refund = await self.provider.refund(
                ref, row["amount_cents"], row["currency"], f"payment-{row['id']}"
            )
        except (DomainError, OSError) as exc:
            log.warning("refund of payment %s failed, retried later: %s", row["id"], exc)
            return
        await conn.execute(
            "UPDATE payments SET status = 'refunded', refund_ref = $2, updated_at = now()"
            " WHERE id = $1 AND status = 'refund_due'",
            row["id"],
            refund,
        )

    async def refund_due(self) -> None:
        """The worker's round: retry the refunds that failed. Every server process runs it;
        an advisory lock lets one process at a time ask the provider, so two processes never
        refund the same payment at once."""
        async with connection(self.pool) as conn:
            if not await conn.fetchval("SELECT pg_try_advisory_lock($1)", REFUNDS_LOCK):
                return
            try:
                refs = await conn.fetch(
                    "SELECT provider_ref FROM payments WHERE status = 'refund_due'"
                    " AND provider = $1 LIMIT 50",
                    self.provider.name,
                )
                for row in refs:
                    await self._refund_now(conn, row["provider_ref"])
            finally:
                await conn.execute("SELECT pg_advisory_unlock($1)", REFUNDS_LOCK)

    async def order_status(self, order_id: int) -> str:
        async with connection(self.pool) as conn:
            status = await conn.fetchval("SELECT status FROM orders WHERE id = $1", order_id)
        if status is None:
            raise NotFound("unknown_order", "no order has this link")
        return str(status)
