"""The shop's cart: seats and places of several sessions, passes and articles, with one
countdown (docs/shop.md).

A cart is a row of ``carts`` (its id is the buyer's bearer token) with, per session, the
hold token that keeps its seats and the chosen tariffs (``cart_sessions``), and its passes
and articles (``cart_products``). The holds stay per session in Redis, each script
touching one session's keys; the cart gives them one expiry: adding a session or asking
for more time extends every hold of the cart by the cart's hold time and moves the cart's
``expires_at`` to match, never past the earliest cap among its holds. Once the cart has
expired, any process's janitor (:meth:`Carts.release_expired`) releases every hold it names
and marks it released; a hold Redis made but the cart never recorded expires by its own
TTL (the sweeper). Passes and articles are not reserved before the checkout.
"""

from __future__ import annotations

import contextlib
import json
import logging
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from server.catalog.service import Catalog, SessionRow
from server.door.passes import check_photo
from server.platform.db import DB_DOWN, connection
from server.platform.errors import Conflict, DomainError, Gone, Invalid, NotFound
from server.platform.scripts import REDIS_DOWN
from server.sales.rules import tariff_refusal
from server.sales.service import OrderLine, hold_refusal, session_started
from server.seating.live import HoldRefused, Live
from server.shop.views import cart_view, ms, now_ms

log = logging.getLogger(__name__)

MAX_SESSIONS = 10
MAX_PASSES = 20
MAX_ARTICLE_LINES = 50
MAX_ARTICLE_QUANTITY = 100
RELEASE_BATCH = 100


class Carts:
    def __init__(
        self, pool: asyncpg.Pool, live: Live, catalog: Catalog, ttl_ms: int, cap_ms: int
    ) -> None:
        self.pool = pool
        self.live = live
        self.catalog = catalog
        self.ttl_ms = ttl_ms
        self.cap_ms = cap_ms

    # -- the cart itself -----------------------------------------------------------------

    async def create(self, hold_seconds: int | None) -> dict[str, Any]:
        """A new, empty cart; ``hold_seconds`` may shorten its hold time, never lengthen it."""
        ttl = min(self.ttl_ms, hold_seconds * 1000) if hold_seconds else self.ttl_ms
        cart_id = secrets.token_urlsafe(16)
        now = datetime.now(UTC)
        async with connection(self.pool) as conn:
            await conn.execute(
                "INSERT INTO carts (id, ttl_ms, expires_at, cap_at) VALUES ($1, $2, $3, $4)",
                cart_id,
                ttl,
                now + timedelta(milliseconds=ttl),
                now + timedelta(milliseconds=max(self.cap_ms, ttl)),
            )
        return await self.view(cart_id)

    async def open_cart(self, conn: asyncpg.Connection, cart_id: str) -> asyncpg.Record:
        """The cart's row, locked, if it may still change: 404 ``unknown_cart``, 409
        ``cart_checked_out``, 410 ``cart_expired``."""
        row = await conn.fetchrow("SELECT * FROM carts WHERE id = $1 FOR UPDATE", cart_id)
        if row is None:
            raise NotFound("unknown_cart", "no such cart")
        if row["order_id"] is not None:
            raise Conflict("cart_checked_out", "this cart is already an order")
        if row["expires_at"] <= datetime.now(UTC) or row["released_at"] is not None:
            raise Gone("cart_expired", "the cart has expired: its seats were released")
        return row

    async def extend(self, cart_id: str) -> dict[str, Any]:
        """More time for everything in the cart: every hold and the cart's own expiry."""
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            await self._align(conn, cart_id)
        return await self.view(cart_id)

    async def _align(self, conn: asyncpg.Connection, cart_id: str) -> None:
        """In the caller's transaction (the cart locked): extend every hold by the cart's
        hold time and give the cart the same expiry, never past the earliest cap. A hold
        that is gone (released, expired) leaves the cart."""
        cart = await conn.fetchrow("SELECT ttl_ms, cap_at FROM carts WHERE id = $1", cart_id)
        cap = ms(cart["cap_at"])
        for row in await conn.fetch(
            "SELECT session_id, hold_token FROM cart_sessions WHERE cart_id = $1", cart_id
        ):
            try:
                _, hold_cap = await self.live.extend(
                    row["session_id"], row["hold_token"], cart["ttl_ms"]
                )
            except HoldRefused:
                await conn.execute(
                    "DELETE FROM cart_sessions WHERE cart_id = $1 AND session_id = $2",
                    cart_id,
                    row["session_id"],
                )
                continue
            cap = min(cap, hold_cap)
        expires = min(now_ms() + cart["ttl_ms"], cap)
        await conn.execute(
            "UPDATE carts SET expires_at = to_timestamp($2 / 1000.0),"
            " cap_at = to_timestamp($3 / 1000.0) WHERE id = $1",
            cart_id,
            expires,
            cap,
        )

    async def abandon(self, cart_id: str) -> None:
        """The buyer empties the cart: it expires now and its holds are released."""
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            await conn.execute("UPDATE carts SET expires_at = now() WHERE id = $1", cart_id)
        await self.release_expired()

    # -- sessions ------------------------------------------------------------------------

    async def put_session(
        self, cart_id: str, session: SessionRow, token: str, lines: Sequence[OrderLine]
    ) -> dict[str, Any]:
        """The seats and places of ``session`` that hold ``token`` keeps, each with its
        tariff, replace what the cart had of that session."""
        await self.check_lines(session, lines)
        await self._check_held(session, token, lines)
        payload = json.dumps([{"seat": ln.seat_idx, "tariff": ln.tariff_id} for ln in lines])
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            before = await conn.fetchval(
                "SELECT hold_token FROM cart_sessions WHERE cart_id = $1 AND session_id = $2",
                cart_id,
                session.id,
            )
            count = await conn.fetchval(
                "SELECT count(*) FROM cart_sessions WHERE cart_id = $1", cart_id
            )
            if before is None and count >= MAX_SESSIONS:
                raise Invalid("cart_full", f"a cart holds at most {MAX_SESSIONS} sessions")
            await conn.execute(
                "INSERT INTO cart_sessions (cart_id, session_id, hold_token, lines)"
                " VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (cart_id, session_id)"
                " DO UPDATE SET hold_token = EXCLUDED.hold_token, lines = EXCLUDED.lines",
                cart_id,
                session.id,
                token,
                payload,
            )
            await self._align(conn, cart_id)
        if before is not None and before != token:
            await self._release(session.id, before)
        return await self.view(cart_id)

    async def check_lines(
        self, session: SessionRow, lines: Sequence[OrderLine]
    ) -> dict[int, asyncpg.Record]:
        """The session's rules for the shop (as a single-session order has them): sales
        open, not started, known tariffs on sale for their seats, one currency. Returns
        the session's tariffs."""
        if not lines:
            raise Invalid("empty_order", "add at least one seat or place")
        seats = [ln.seat_idx for ln in lines if ln.seat_idx is not None]
        if len(set(seats)) != len(seats):
            raise Invalid("duplicate_seats", "a seat appears twice")
        if not session.sales_open:
            raise Conflict("sales_closed", "sales are closed")
        if session.online_sales_over(datetime.now(UTC)):
            raise session_started()
        tariffs = await self.catalog.tariffs(session.id)
        unknown = sorted({ln.tariff_id for ln in lines} - tariffs.keys())
        if unknown:
            raise Invalid("unknown_tariff", "no such tariff for this session", tariffs=unknown)
        if len({tariffs[ln.tariff_id]["currency"] for ln in lines}) != 1:
            raise Invalid("mixed_currencies", "all tariffs of an order share one currency")
        if refusal := await tariff_refusal(self.catalog, session, lines, tariffs):
            raise refusal
        return tariffs

    async def _check_held(
        self, session: SessionRow, token: str, lines: Sequence[OrderLine]
    ) -> None:
        try:
            hold = await self.live.hold_info(session.id, token)
        except HoldRefused as exc:
            raise hold_refusal(exc) from exc
        missing = sorted({ln.seat_idx for ln in lines if ln.seat_idx is not None} - {*hold.seats})
        if missing:
            raise hold_refusal(HoldRefused("seats_not_held", seats=missing))
        places = sum(1 for ln in lines if ln.seat_idx is None)
        if places > hold.quantity:
            raise hold_refusal(HoldRefused("places_not_held", available=hold.quantity))

    async def remove_session(self, cart_id: str, session_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            token = await conn.fetchval(
                "DELETE FROM cart_sessions WHERE cart_id = $1 AND session_id = $2"
                " RETURNING hold_token",
                cart_id,
                session_id,
            )
        if token is not None:
            await self._release(session_id, token)
        return await self.view(cart_id)

    async def _release(self, session_id: int, token: str) -> None:
        """Best effort: a hold not released now expires by its own TTL."""
        with contextlib.suppress(HoldRefused, DomainError, *REDIS_DOWN):
            await self.live.release(session_id, token, None)

    # -- passes and articles -------------------------------------------------------------

    async def add_pass(
        self, cart_id: str, pass_type_id: int, first: str, last: str, photo: str | None
    ) -> dict[str, Any]:
        """A pass of a type the organiser sells online, for its holder."""
        photo = check_photo(photo)
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            await online_product(conn, "pass_types", pass_type_id)
            count = await conn.fetchval(
                "SELECT count(*) FROM cart_products WHERE cart_id = $1"
                " AND pass_type_id IS NOT NULL",
                cart_id,
            )
            if count >= MAX_PASSES:
                raise Invalid("cart_full", f"a cart holds at most {MAX_PASSES} passes")
            await conn.execute(
                "INSERT INTO cart_products (cart_id, pass_type_id, quantity,"
                " holder_first_name, holder_last_name, photo) VALUES ($1, $2, 1, $3, $4, $5)",
                cart_id,
                pass_type_id,
                first,
                last,
                photo,
            )
        return await self.view(cart_id)

    async def remove_product(self, cart_id: str, line_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            await conn.execute(
                "DELETE FROM cart_products WHERE cart_id = $1 AND id = $2", cart_id, line_id
            )
        return await self.view(cart_id)

    async def set_article(self, cart_id: str, article_id: int, quantity: int) -> dict[str, Any]:
        """``quantity`` units of an article sold online (0 takes it out of the cart). The
        stock is only taken at the checkout."""
        async with connection(self.pool) as conn, conn.transaction():
            await self.open_cart(conn, cart_id)
            if quantity == 0:
                await conn.execute(
                    "DELETE FROM cart_products WHERE cart_id = $1 AND article_id = $2",
                    cart_id,
                    article_id,
                )
                return await self._view(conn, cart_id)
            await online_product(conn, "articles", article_id)
            count = await conn.fetchval(
                "SELECT count(*) FROM cart_products WHERE cart_id = $1 AND article_id IS NOT NULL"
                " AND article_id <> $2",
                cart_id,
                article_id,
            )
            if count >= MAX_ARTICLE_LINES:
                raise Invalid("cart_full", f"a cart holds at most {MAX_ARTICLE_LINES} articles")
            await conn.execute(
                "INSERT INTO cart_products (cart_id, article_id, quantity) VALUES ($1, $2, $3)"
                " ON CONFLICT (cart_id, article_id) WHERE article_id IS NOT NULL"
                " DO UPDATE SET quantity = EXCLUDED.quantity",
                cart_id,
                article_id,
                quantity,
            )
            return await self._view(conn, cart_id)

    # -- reading -------------------------------------------------------------------------

    async def view(self, cart_id: str) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            return await self._view(conn, cart_id)

    async def _view(self, conn: asyncpg.Connection, cart_id: str) -> dict[str, Any]:
        return await cart_view(conn, self.catalog, cart_id)

    # -- the janitor ---------------------------------------------------------------------

    async def release_expired(self) -> int:
        """Release every hold of the carts that expired unbought; any process may run it
        (``SKIP LOCKED``: a cart being checked out is left alone). A failure (Redis down)
        rolls the round back: the next one tries again. Returns carts released."""
        try:
            async with connection(self.pool) as conn, conn.transaction():
                carts = await conn.fetch(
                    "SELECT id FROM carts WHERE order_id IS NULL AND released_at IS NULL"
                    " AND expires_at <= now() ORDER BY expires_at LIMIT $1"
                    " FOR UPDATE SKIP LOCKED",
                    RELEASE_BATCH,
                )
                ids = [c["id"] for c in carts]
                for row in await conn.fetch(
                    "SELECT session_id, hold_token FROM cart_sessions"
                    " WHERE cart_id = ANY($1::text[])",
                    ids,
                ):
                    with contextlib.suppress(HoldRefused):
                        await self.live.release(row["session_id"], row["hold_token"], None)
                await conn.execute(
                    "UPDATE carts SET released_at = now() WHERE id = ANY($1::text[])", ids
                )
        except (*REDIS_DOWN, *DB_DOWN) as exc:
            log.warning("expired carts not released yet (%s)", type(exc).__name__)
            return 0
        return len(ids)


async def online_product(conn: asyncpg.Connection, table: str, product_id: int) -> None:
    """A pass type or article that exists, is on sale and is offered online."""
    assert table in ("pass_types", "articles")
    row = await conn.fetchrow(
        f"SELECT active, sold_online FROM {table} WHERE id = $1",
        product_id,
    )
    what = "pass_type" if table == "pass_types" else "article"
    if row is None:
        raise NotFound(f"unknown_{what}", f"no such {what.replace('_', ' ')}")
    if not row["active"] or not row["sold_online"]:
        raise Conflict("not_sold_online", "this is not sold online", **{f"{what}_id": product_id})
