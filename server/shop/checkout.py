"""The cart's checkout: the whole cart as ONE order with ONE payment (docs/shop.md).

One Postgres transaction, under the cart row's lock: the lines priced and checked as a
single-session order would be, every session's hold claimed in Redis (for the payment
window when the order pays online), the order inserted (``kind = 'cart'``), the articles'
stock taken by ``server.articles.stock.take`` (the guarded ``UPDATE``: never below zero,
exactly as many buyers as units get the last ones), and the cart marked as that order. A
free order, or a server without a payment provider, delivers at once in the same
transaction (``delivery.deliver``); otherwise the order is ``pending`` and the payment's
confirmation delivers it: :class:`Checkout` is the ``CartOrders`` the payments call.

A late payment: each session's seats are its own hold still claimed, or a new hold of
the same seats if they are free; the stock is taken again if a failure gave it back; any
line that cannot be delivered (seats gone, stock short, a pass type over) delivers none
and the payment is refunded. Never a double sale, never money without its tickets.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from seatmap.holds import CLAIM_GRACE_MS
from server.articles.stock import Level, StockNews, restore, take
from server.catalog.service import Catalog
from server.payments.service import After, Payments
from server.platform.db import connection
from server.platform.errors import Conflict, DomainError, Gone, Invalid, Mismatch, NotFound
from server.sales.service import OrderLine, hold_refusal
from server.seating.live import HoldRefused, Live
from server.seating.outbox import Op, Outbox
from server.shop.carts import Carts, online_product
from server.shop.delivery import Lines, PassIssuer, Sold, deliver, priced

LATE_HOLD_MS = 60_000  # a late payment's new hold: just long enough to commit


@dataclass(frozen=True, slots=True)
class Buyer:
    name: str
    email: str


class Checkout:
    def __init__(
        self,
        pool: asyncpg.Pool,
        live: Live,
        catalog: Catalog,
        outbox: Outbox,
        carts: Carts,
        issuer: PassIssuer,
        news: StockNews,
        payments: Payments,
        payment_grace_ms: int | None,
    ) -> None:
        """``payment_grace_ms`` None: the shop sells without payment (tests only)."""
        self.pool = pool
        self.live = live
        self.catalog = catalog
        self.outbox = outbox
        self.carts = carts
        self.issuer = issuer
        self.news = news
        self.payments = payments
        self.payment_grace_ms = payment_grace_ms

    # -- the checkout --------------------------------------------------------------------

    async def checkout(
        self, cart_id: str, key: str, buyer: Buyer, site_url: str
    ) -> tuple[dict[str, Any], bool]:
        """The cart as one order. Returns (order, created); False: a retry with the same
        key, answered with the same order."""
        async with connection(self.pool) as conn:
            async with conn.transaction():
                cart = await conn.fetchrow("SELECT * FROM carts WHERE id = $1 FOR UPDATE", cart_id)
                if cart is None:
                    raise NotFound("unknown_cart", "no such cart")
                if cart["order_id"] is not None:
                    order = await self._replay(conn, cart["order_id"], key)
                    return await self.payments.describe(order, site_url), False
                if cart["expires_at"] <= datetime.now(UTC) or cart["released_at"] is not None:
                    raise Gone("cart_expired", "the cart has expired: its seats were released")
                lines = await self._lines(conn, cart_id)
                pays = self.payment_grace_ms is not None and lines.total > 0
                grace = self.payment_grace_ms if pays else None
                claimed = await self._claim(lines, key, grace or CLAIM_GRACE_MS)
                try:
                    order_id, levels = await self._commit(conn, cart_id, key, buyer, lines)
                    sold = [] if pays else await self._deliver_now(conn, order_id, lines, claimed)
                except BaseException:
                    await self._unclaim(claimed, key)
                    raise
            await self._applied(sold, levels)
            order = await _order_json(conn, order_id)
        return await self.payments.describe(order, site_url), True

    async def _lines(self, conn: asyncpg.Connection, cart_id: str) -> Lines:
        """Every line of the cart priced now, checked as the shop checks a single order."""
        lines = Lines()
        for s in await conn.fetch(
            "SELECT session_id, hold_token, lines FROM cart_sessions WHERE cart_id = $1"
            " ORDER BY session_id",
            cart_id,
        ):
            await self._session_lines(lines, s)
        for p in await conn.fetch(
            "SELECT * FROM cart_products WHERE cart_id = $1 ORDER BY id", cart_id
        ):
            await self._product_line(conn, lines, p)
        if not (lines.tickets or lines.passes or lines.articles):
            raise Invalid("empty_cart", "the cart is empty")
        if len({ln["currency"] for ln in (*lines.tickets, *lines.passes, *lines.articles)}) > 1:
            raise Invalid("mixed_currencies", "everything in a cart is paid in one currency")
        return lines

    async def _session_lines(self, lines: Lines, row: asyncpg.Record) -> None:
        session = await self.catalog.session(row["session_id"])
        chosen = [OrderLine(ln["tariff"], ln["seat"]) for ln in json.loads(row["lines"])]
        tariffs = await self.carts.check_lines(session, chosen)
        for ln in chosen:
            t = tariffs[ln.tariff_id]
            lines.tickets.append(
                {
                    "session": session.id,
                    "token": row["hold_token"],
                    "seat": ln.seat_idx,
                    "tariff": ln.tariff_id,
                    "currency": t["currency"].strip(),
                    **priced(t["price_cents"], t["tax_rate_bp"]),
                }
            )

    async def _product_line(
        self, conn: asyncpg.Connection, lines: Lines, p: asyncpg.Record
    ) -> None:
        table = "pass_types" if p["pass_type_id"] is not None else "articles"
        product_id = p["pass_type_id"] or p["article_id"]
        await online_product(conn, table, product_id)
        row = await conn.fetchrow(
            f"SELECT name, price_cents, currency, tax_rate_bp FROM {table} WHERE id = $1",
            product_id,
        )
        line = {
            "name": row["name"],
            "currency": row["currency"].strip(),
            **priced(row["price_cents"] * p["quantity"], row["tax_rate_bp"]),
        }
        if table == "articles":
            lines.articles.append({**line, "article": product_id, "quantity": p["quantity"]})
        else:
            names = {"first": p["holder_first_name"], "last": p["holder_last_name"]}
            lines.passes.append({**line, **names, "type": product_id, "photo": p["photo"]})

    async def _claim(self, lines: Lines, key: str, grace_ms: int) -> dict[int, str]:
        """Claim every session's hold for this order (all or none): the seats stay held
        while the order commits, or while its buyer pays."""
        claimed: dict[int, str] = {}
        for session_id, (token, seats, places) in sorted(lines.sessions().items()):
            try:
                await self.live.claim(session_id, token, seats, places, key, grace_ms)
            except HoldRefused as exc:
                await self._unclaim(claimed, key)
                refusal = hold_refusal(exc)
                refusal.details["session_id"] = session_id
                raise refusal from exc
            claimed[session_id] = token
        return claimed

    async def _unclaim(self, claimed: dict[int, str], key: str) -> None:
        for session_id, token in claimed.items():
            with contextlib.suppress(DomainError, HoldRefused):
                await self.live.unclaim(session_id, token, key)

    async def _commit(
        self, conn: asyncpg.Connection, cart_id: str, key: str, buyer: Buyer, lines: Lines
    ) -> tuple[int, list[Level]]:
        """The order (pending), the stock taken, the cart closed: in the caller's
        transaction."""
        currency = next(ln["currency"] for ln in (*lines.tickets, *lines.passes, *lines.articles))
        try:
            order_id = await conn.fetchval(
                "INSERT INTO orders (idempotency_key, session_id, hold_token, channel,"
                " buyer_name, buyer_email, total_cents, currency, kind, status, lines)"
                " VALUES ($1, NULL, $2, 'web', $3, $4, $5, $6, 'cart', 'pending', $7::jsonb)"
                " RETURNING id",
                key,
                cart_id,
                buyer.name,
                buyer.email,
                lines.total,
                currency,
                lines.json(),
            )
        except asyncpg.UniqueViolationError as exc:
            raise Mismatch(
                "idempotency_key_mismatch", "this idempotency key was used for another order"
            ) from exc
        taken = await take(conn, lines.wanted(), None)
        await conn.execute("UPDATE carts SET order_id = $2 WHERE id = $1", cart_id, order_id)
        return order_id, [t.level for t in taken if t.level is not None]

    async def _deliver_now(
        self, conn: asyncpg.Connection, order_id: int, lines: Lines, tokens: dict[int, str]
    ) -> list[Sold]:
        """A free order (or a shop without payments): delivered in the checkout's
        transaction. Postgres knowing a seat sold that Redis did not is 409."""
        try:
            async with conn.transaction():
                return await deliver(conn, self.issuer, order_id, lines, tokens)
        except asyncpg.UniqueViolationError as exc:
            raise Conflict("seats_taken", "some seats are already sold") from exc
        except asyncpg.CheckViolationError as exc:
            raise Conflict("not_enough_places", "not enough places left") from exc

    async def _replay(self, conn: asyncpg.Connection, order_id: int, key: str) -> dict[str, Any]:
        if await conn.fetchval("SELECT idempotency_key FROM orders WHERE id = $1", order_id) != key:
            raise Conflict("cart_checked_out", "this cart is already an order")
        return await _order_json(conn, order_id)

    async def _applied(self, sold: Sequence[Sold], levels: Sequence[Level]) -> None:
        """After the commit: the seats turn sold on every map (the outbox worker repairs a
        failure), the stock levels are announced (the feeds re-read a lost one)."""
        for s in sold:
            await self.outbox.apply_now(s.entry, s.session_id, Op.SELL, s.args)
        await self.news.publish(levels)

    # -- the payment's word (payments' ``CartOrders``) -----------------------------------

    async def paid(self, conn: asyncpg.Connection, order_id: int) -> After | None:
        order = await conn.fetchrow(
            "SELECT status, idempotency_key, lines FROM orders WHERE id = $1 FOR UPDATE",
            order_id,
        )
        lines = Lines.of(order["lines"])
        tokens: dict[int, str] = {}
        for session_id, (token, seats, places) in sorted(lines.sessions().items()):
            mine = await self._seats_for(session_id, token, seats, places, order["idempotency_key"])
            if mine is None:
                break
            tokens[session_id] = mine
        else:
            try:
                async with conn.transaction():
                    levels: list[Level] = []
                    if order["status"] == "failed":  # its stock was given back: take it again
                        taken = await take(conn, lines.wanted(), None)
                        levels = [t.level for t in taken if t.level is not None]
                    sold = await deliver(conn, self.issuer, order_id, lines, tokens)
                return lambda: self._applied(sold, levels)
            except (asyncpg.UniqueViolationError, asyncpg.CheckViolationError, DomainError):
                pass
        await self._let_go(tokens)
        if order["status"] == "pending":
            await restore(conn, lines.wanted())
        return None

    async def failed(self, conn: asyncpg.Connection, order_id: int) -> After:
        order = await conn.fetchrow(
            "SELECT status, lines FROM orders WHERE id = $1 FOR UPDATE", order_id
        )
        lines = Lines.of(order["lines"])
        levels: list[Level] = []
        if order["status"] == "pending":
            levels = await restore(conn, lines.wanted())
        holds = {sid: token for sid, (token, _, _) in lines.sessions().items()}

        async def after() -> None:
            await self._let_go(holds)
            await self.news.publish(levels)

        return after

    async def _seats_for(
        self, session_id: int, token: str, seats: list[int], places: int, key: str
    ) -> str | None:
        """A hold token that holds exactly these seats and places: the order's own hold,
        still claimed, or a new one if they are free; None if they are not."""
        try:
            await self.live.claim(session_id, token, seats, places, key, CLAIM_GRACE_MS)
            return token
        except HoldRefused:
            pass
        fresh = "paid-" + secrets.token_urlsafe(16)
        try:
            await self.live.hold(session_id, fresh, seats, places, LATE_HOLD_MS, LATE_HOLD_MS)
        except HoldRefused:
            return None
        return fresh

    async def _let_go(self, holds: dict[int, str]) -> None:
        for session_id, token in holds.items():
            with contextlib.suppress(DomainError, HoldRefused):
                await self.live.release(session_id, token, None)


async def _order_json(conn: asyncpg.Connection, order_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT id, status, channel, kind, buyer_name, buyer_email, total_cents, currency,"
        " created_at FROM orders WHERE id = $1",
        order_id,
    )
    tickets = await conn.fetchval("SELECT count(*) FROM tickets WHERE order_id = $1", order_id)
    return {
        **dict(row),
        "currency": row["currency"].strip(),
        "created_at": row["created_at"].isoformat(),
        "tickets": tickets,
    }
