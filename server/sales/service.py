"""Sales: turning a hold into an order with one ticket per seat or place.

The order is one Postgres transaction keyed by an idempotency key (a retried request returns
the first order and never sells twice). A partial unique index on active tickets per seat
makes a double sale impossible even if Redis were wrong. Redis is told after the commit; if
that fails, the rebuild from Postgres repairs the mirror.
"""

from __future__ import annotations

import contextlib
import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import asyncpg

from server.catalog.service import Catalog, SessionRow
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    Mismatch,
    NotFound,
)
from server.platform.failpoints import failpoint
from server.sales.overbook import check_overbooking, make_room
from server.sales.pending import INSERT_PENDING, lines_json, pays_online
from server.sales.rules import tariff_refusal
from server.seating.live import HoldRefused, Live
from server.seating.outbox import Op, Outbox

log = logging.getLogger(__name__)

_AUDIT_ACTIONS = {
    "sale": "order.create",
    "reservation": "order.reserve",
    "overbook": "order.overbook",
}


@dataclass(frozen=True, slots=True)
class OrderLine:
    tariff_id: int
    seat_idx: int | None  # None for a general-admission place


@dataclass(frozen=True, slots=True)
class DeskPayment:
    """A desk sale's payment: ``cash`` (``given_cents``), ``card``, ``wallet`` (``code``)."""

    method: str
    amount_cents: int
    given_cents: int | None = None
    code: str | None = None


@dataclass(frozen=True, slots=True)
class DeskSale:
    """A sale at a register: the caller's open register session and the payments."""

    register_session_id: int
    payments: tuple[DeskPayment, ...]
    articles: tuple[tuple[int, int], ...] = ()
    """(article id, quantity) sold with the tickets, journalled in the same entry."""


class OrderJournal(Protocol):
    """Where a desk sale is journalled (the cash context, wired in by ``server/app.py``;
    sales does not import it)."""

    async def check(self, user_id: int, desk: DeskSale) -> int:
        """Refuse early (before the hold is claimed) a sale the journal would refuse;
        the total of the desk's articles (0 without), which the payments cover too."""

    async def write(
        self,
        conn: asyncpg.Connection,
        request: OrderRequest,
        rows: list[asyncpg.Record],
        tariffs: dict[int, asyncpg.Record],
        currency: str,
    ) -> dict[str, Any]:
        """Journal the committed order inside its transaction; the receipt it made."""

    async def committed(self, receipt: dict[str, Any]) -> None:
        """After the commit of the order journalled as ``receipt`` (news of its articles'
        stock)."""


@dataclass(frozen=True, slots=True)
class OrderRequest:
    session_id: int
    hold_token: str
    idempotency_key: str
    lines: tuple[OrderLine, ...]
    channel: str
    buyer_name: str | None
    buyer_email: str | None
    user_id: int | None
    kind: str = "sale"
    """``sale``, or ``reservation``: released if not scanned in time (docs/door.md)."""
    actor: Actor | None = None
    """A member of staff selling (their sale goes to the audit log), or None (the shop)."""
    desk: DeskSale | None = None
    """A sale at a register, journalled in the order's transaction (docs/cash.md)."""
    overbook: bool = False
    """A desk sale of blocked seats or of places past the capacity (``overbook.py``)."""

    @property
    def seats(self) -> list[int]:
        return [line.seat_idx for line in self.lines if line.seat_idx is not None]

    @property
    def places(self) -> int:
        return sum(1 for line in self.lines if line.seat_idx is None)


def session_started() -> Conflict:
    """The shop's refusal of a session that has started (``SessionRow.online_sales_over``)."""
    return Conflict("session_started", "the session has started: sold at the box office only")


def hold_refusal(exc: HoldRefused, seat_ids: tuple[str, ...] = ()) -> DomainError:
    """The HTTP form of a refusal from the live layer."""
    details: dict[str, Any] = {}
    if exc.seats:
        details["seats"] = [seat_ids[i] if seat_ids else i for i in exc.seats]
    if exc.available is not None:
        details["available"] = exc.available
    messages = {
        "seats_taken": "some seats are already held or sold",
        "not_enough_places": "not enough places left",
        "hold_expired": "the hold has expired",
        "unknown_hold": "no such hold",
        "seats_not_held": "some seats are not held by this hold token",
        "places_not_held": "this hold token does not hold that many places",
        "hold_busy": "another order of this hold is being committed; retry",
        "not_enough_seats": "not that many seats are free for this request",
    }
    kind: type[DomainError] = Conflict
    if exc.reason == "unknown_hold":
        kind = NotFound
    elif exc.reason == "hold_expired":
        kind = Gone
    return kind(exc.reason, messages.get(exc.reason, exc.reason), **details)


def sell_args(request: OrderRequest) -> dict[str, Any]:
    """What the mirror needs to mark the order sold (an outbox entry's arguments)."""
    return {"token": request.hold_token, "seats": request.seats, "quantity": request.places}


def same_order(previous: dict[str, Any], request: OrderRequest) -> bool:
    """Whether a committed order is what ``request`` asks (its retry), line for line (a
    pending order's lines wait in ``_lines``)."""

    def key(seat: int | None, tariff: int) -> tuple[int, int]:
        return (-1 if seat is None else seat, tariff)

    return (
        previous["session_id"] == request.session_id
        and previous["hold_token"] == request.hold_token
        and previous["kind"] == request.kind
        and previous["buyer_name"] == request.buyer_name
        and sorted(
            key(t["seat_idx"], t["tariff_id"]) for t in previous["tickets"] or previous["_lines"]
        )
        == sorted(key(line.seat_idx, line.tariff_id) for line in request.lines)
    )


class Sales:
    def __init__(
        self,
        pool: asyncpg.Pool,
        live: Live,
        catalog: Catalog,
        outbox: Outbox,
        journal: OrderJournal | None = None,
        payment_grace_ms: int | None = None,
    ) -> None:
        """``payment_grace_ms``: how long a hold stays claimed while its order waits for
        an online payment; None sells the shop's orders at once, unpaid (tests only)."""
        self.payment_grace_ms = payment_grace_ms
        self.pool = pool
        self.live = live
        self.catalog = catalog
        self.outbox = outbox
        self.journal = journal

    async def existing_order(self, idempotency_key: str) -> dict[str, Any] | None:
        async with connection(self.pool) as conn:
            return await self._order_by_key(conn, idempotency_key)

    async def confirm(
        self, session: SessionRow, request: OrderRequest
    ) -> tuple[dict[str, Any], bool]:
        """Commit the order. Returns (order, created); ``created`` is False for a replay.

        The happy path is one Redis script (claim), one Postgres statement (order and
        tickets together) and one Redis script (sell). A retried request finds its order by
        idempotency key when the claim fails (the hold is already sold) or the insert
        conflicts (a concurrent retry committed first)."""
        if not request.lines:
            raise Invalid("empty_order", "an order needs at least one seat or place")
        if len(set(request.seats)) != len(request.seats):
            raise Invalid("duplicate_seats", "a seat appears twice in the order")
        tariffs = await self.catalog.tariffs(session.id)
        unknown = sorted({line.tariff_id for line in request.lines} - tariffs.keys())
        if unknown:
            raise Invalid("unknown_tariff", "no such tariff for this session", tariffs=unknown)
        currencies = {tariffs[line.tariff_id]["currency"] for line in request.lines}
        if len(currencies) != 1:
            raise Invalid("mixed_currencies", "all tariffs of an order share one currency")
        if refusal := await tariff_refusal(self.catalog, session, request.lines, tariffs):
            return await self._replay(request, refusal)
        if not session.sales_open:
            return await self._replay(request, Conflict("sales_closed", "sales are closed"))
        if request.channel == "web" and session.online_sales_over(datetime.now(UTC)):
            return await self._replay(request, session_started())
        prices = [tariffs[line.tariff_id]["price_cents"] for line in request.lines]
        if request.desk is not None:
            try:
                await self._check_desk(request, sum(prices))
            except DomainError as exc:
                return await self._replay(request, exc)
        online = request.desk is None and not request.overbook and self.payment_grace_ms
        if online and pays_online(request.channel, request.kind, sum(prices)):
            return await self._pending(session, request, prices, currencies.pop())
        if refusal := await self._take_hold(session, request):
            return await self._replay(request, refusal)
        try:
            rows, entry, receipt = await self._commit(
                session, request, prices, currencies.pop(), tariffs
            )
        except BaseException:
            if not request.overbook:
                with contextlib.suppress(DomainError):  # else the claim lapses after its grace
                    await self.live.unclaim(session.id, request.hold_token, request.idempotency_key)
            raise
        if not rows:  # a concurrent retry of the same request committed first
            return await self._replay(request, None)
        order = await self._order_json(session, request, rows, tariffs, sum(prices))
        if receipt is not None and self.journal is not None:
            order["receipt"] = receipt
            await self.journal.committed(receipt)
        await failpoint("sales.after_commit")
        await self.outbox.apply_now(entry, session.id, Op.SELL, sell_args(request))
        return order, True

    async def _pending(
        self, session: SessionRow, request: OrderRequest, prices: list[int], currency: str
    ) -> tuple[dict[str, Any], bool]:
        """An order of the shop to be paid online: its hold claimed for the payment window,
        the order stored ``pending`` with its lines, no tickets yet (``pending.py``)."""
        if refusal := await self._take_hold(session, request, self.payment_grace_ms):
            return await self._replay(request, refusal)
        args = self._args(session, request, prices, currency)
        async with connection(self.pool) as conn:
            order_id = await conn.fetchval(
                INSERT_PENDING, *args[:10], lines_json(args[10], args[11], prices)
            )
            order = await self._order_by_key(conn, request.idempotency_key)
        if order_id is None or order is None:
            return await self._replay(request, None)
        return order, True

    async def _take_hold(
        self, session: SessionRow, request: OrderRequest, grace_ms: int | None = None
    ) -> DomainError | None:
        """Claim the hold the order buys (an overbooking has none: its own checks instead);
        the refusal, if any."""
        try:
            if request.overbook:
                desk_sale = request.desk is not None and request.kind == "sale"
                await check_overbooking(self.live, session.id, desk_sale, request.places)
            else:
                await self.live.claim(
                    session.id,
                    request.hold_token,
                    request.seats,
                    request.places,
                    request.idempotency_key,
                    **({"grace_ms": grace_ms} if grace_ms else {}),
                )
        except HoldRefused as exc:
            return hold_refusal(exc, await self._seat_ids(session))
        except DomainError as exc:
            return exc
        return None

    async def _check_desk(self, request: OrderRequest, total: int) -> None:
        """A desk sale: a journal, a signed-in user, payments adding up to the total."""
        desk = request.desk
        assert desk is not None
        if self.journal is None or request.user_id is None or request.actor is None:
            raise Forbidden("register_session_required", "only a signed-in cashier sells here")
        total += await self.journal.check(request.user_id, desk)
        paid = sum(p.amount_cents for p in desk.payments)
        if paid != total:
            raise Invalid(
                "payments_mismatch", "the payments do not add up to the total", total_cents=total
            )

    async def _commit(
        self,
        session: SessionRow,
        request: OrderRequest,
        prices: list[int],
        currency: str,
        tariffs: dict[int, asyncpg.Record],
    ) -> tuple[list[asyncpg.Record], int, dict[str, Any] | None]:
        """The order, its tickets and its outbox entry, in one transaction (with the
        journal entry of a desk sale and the audit entry of a staff sale)."""
        async with connection(self.pool) as conn:
            try:
                insert = self._insert_with_capacity if request.places else self._insert
                if request.actor is None:  # the shop: one statement, no audit entry
                    return (*await insert(conn, session, request, prices, currency), None)
                async with conn.transaction():
                    overbooked: dict[str, object] = {}
                    if request.overbook:
                        seat_ids = await self._seat_ids(session) if request.seats else ()
                        overbooked = await make_room(
                            conn, session.id, request.seats, request.places, seat_ids
                        )
                        insert = self._insert
                    rows, entry = await insert(conn, session, request, prices, currency)
                    if rows:
                        await audit.record(
                            conn,
                            request.actor,
                            _AUDIT_ACTIONS["overbook" if request.overbook else request.kind],
                            f"order:{rows[0]['order_id']}",
                            session_id=session.id,
                            tickets=[r["id"] for r in rows],
                            total_cents=sum(prices),
                            currency=currency,
                            **overbooked,
                        )
                    receipt = None
                    if rows and request.desk is not None and self.journal is not None:
                        receipt = await self.journal.write(conn, request, rows, tariffs, currency)
                    return rows, entry, receipt
            except asyncpg.UniqueViolationError as exc:
                log.error("double sale refused by postgres for session %s", session.id)
                await self._repair_seats(conn, session.id, request.seats)
                raise Conflict("seats_taken", "some seats were sold meanwhile") from exc

    async def _repair_seats(
        self, conn: asyncpg.Connection, session_id: int, seats: list[int]
    ) -> None:
        """Postgres sold some of these seats and the mirror did not know: mark them sold
        (whoever holds them) so nobody else is offered them."""
        sold = await conn.fetch(
            "SELECT seat_idx FROM tickets WHERE session_id = $1 AND status = 'active'"
            " AND seat_idx = ANY($2::int[])",
            session_id,
            seats,
        )
        with contextlib.suppress(DomainError):
            await self.live.sell(session_id, "repair", [r["seat_idx"] for r in sold], 0)

    async def _replay(
        self, request: OrderRequest, otherwise: DomainError | None
    ) -> tuple[dict[str, Any], bool]:
        """The order already committed under this idempotency key, or ``otherwise``."""
        previous = await self.existing_order(request.idempotency_key)
        if previous is None:
            if otherwise is None:
                raise Conflict("order_in_progress", "the same order is being committed; retry")
            raise otherwise
        if not same_order(previous, request):
            raise Mismatch(
                "idempotency_key_mismatch",
                "this idempotency key was used for a different order; use a new key",
                order_id=previous["id"],
            )
        return previous, False

    _ORDER = (
        "INSERT INTO orders (idempotency_key, session_id, hold_token, channel, buyer_name,"
        " buyer_email, total_cents, currency, created_by, kind)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id, created_at"
    )
    _OUTBOX = (
        "INSERT INTO outbox (session_id, op, args) SELECT $2, 'sell', $14::jsonb FROM o"
        " RETURNING id"
    )
    _TICKETS = (
        "INSERT INTO tickets (order_id, session_id, seat_idx, tariff_id, price_cents)"
        " SELECT {order}, $2, l.seat, l.tariff, l.price FROM {source}"
        " unnest($11::int[], $12::bigint[], $13::int[]) AS l(seat, tariff, price)"
        " RETURNING id, order_id, seat_idx, tariff_id, price_cents, {created}"
    )

    @staticmethod
    def _args(
        session: SessionRow, request: OrderRequest, prices: list[int], currency: str
    ) -> list[Any]:
        return [
            request.idempotency_key,
            session.id,
            request.hold_token,
            request.channel,
            request.buyer_name,
            request.buyer_email,
            sum(prices),
            currency,
            request.user_id,
            request.kind,
            [line.seat_idx for line in request.lines],
            [line.tariff_id for line in request.lines],
            prices,
        ]

    async def _insert(
        self,
        conn: asyncpg.Connection,
        session: SessionRow,
        request: OrderRequest,
        prices: list[int],
        currency: str,
    ) -> tuple[list[asyncpg.Record], int]:
        """Order, tickets and outbox entry in one statement (one round trip, one
        transaction)."""
        query = (
            f"WITH o AS ({self._ORDER}), ob AS ({self._OUTBOX}) "
            + self._TICKETS.format(
                order="o.id", source="o,", created="(SELECT created_at FROM o) AS created_at"
            )
            + ", (SELECT id FROM ob) AS outbox_id"
        )
        args = self._args(session, request, prices, currency)
        rows = list(await conn.fetch(query, *args, json.dumps(sell_args(request))))
        return rows, (rows[0]["outbox_id"] if rows else 0)

    async def _insert_with_capacity(
        self,
        conn: asyncpg.Connection,
        session: SessionRow,
        request: OrderRequest,
        prices: list[int],
        currency: str,
    ) -> tuple[list[asyncpg.Record], int]:
        """General admission: Postgres keeps the places sold in a counter row that a CHECK
        holds under the capacity (migration ``0007_ga_capacity.sql``): the ticket insert
        that would pass it fails, whoever inserts. The counter row is locked only from the
        ticket insert to the commit. A first look without a lock answers a session visibly
        full at once.

        Order, outbox entry and tickets are one statement. Alone (the shop), it commits on
        its own, in the same round trip: the lock is held from the tickets' insert to the
        commit's flush, never while this process's event loop gets round to a ``COMMIT``
        (every general-admission order of a session queues on that lock). In a staff sale's
        transaction, a savepoint keeps the transaction usable for the refusal's figure."""
        scope = conn.transaction() if conn.is_in_transaction() else contextlib.nullcontext()
        try:
            await self._room_for(conn, session.id, request.places)
            await failpoint("sales.ga_checked")
            async with scope:
                return await self._insert(conn, session, request, prices, currency)
        except asyncpg.CheckViolationError as exc:  # ga_within_capacity
            room = await self._room(conn, session.id)
            raise Conflict("not_enough_places", "the session is full", available=room) from exc

    @staticmethod
    async def _room(conn: asyncpg.Connection, session_id: int) -> int:
        room = await conn.fetchval(
            "SELECT capacity + overbooked - sold FROM ga_counters WHERE session_id = $1",
            session_id,
        )
        return max(room or 0, 0)

    async def _room_for(self, conn: asyncpg.Connection, session_id: int, places: int) -> None:
        room = await self._room(conn, session_id)
        if room < places:
            raise Conflict("not_enough_places", "the session is full", available=room)

    async def _order_json(
        self,
        session: SessionRow,
        request: OrderRequest,
        rows: list[asyncpg.Record],
        tariffs: dict[int, asyncpg.Record],
        total: int,
    ) -> dict[str, Any]:
        """The committed order as ``_order_by_key`` would read it back, without a query."""
        seat_ids = await self._seat_ids(session)
        tickets = sorted(rows, key=lambda r: r["id"])
        first_tariff = tariffs[request.lines[0].tariff_id]
        return {
            "id": rows[0]["order_id"],
            "session_id": session.id,
            "hold_token": request.hold_token,
            "channel": request.channel,
            "kind": request.kind,
            "buyer_name": request.buyer_name,
            "total_cents": total,
            "currency": first_tariff["currency"],
            "status": "confirmed",
            "created_at": rows[0]["created_at"].isoformat(),
            "tickets": [
                {
                    "id": t["id"],
                    "seat_idx": t["seat_idx"],
                    "seat_id": seat_ids[t["seat_idx"]] if t["seat_idx"] is not None else None,
                    "tariff_id": t["tariff_id"],
                    "tariff": tariffs[t["tariff_id"]]["name"],
                    "price_cents": t["price_cents"],
                    "status": "active",
                }
                for t in tickets
            ],
        }

    async def _seat_ids(self, session: SessionRow) -> tuple[str, ...]:
        if not session.seated or session.seat_plan_id is None:
            return ()
        return (await self.catalog.plan_seats(session.seat_plan_id)).ids

    async def _order_by_key(self, conn: asyncpg.Connection, key: str) -> dict[str, Any] | None:
        row = await conn.fetchrow(
            "SELECT o.*, coalesce(json_agg(json_build_object("
            " 'id', t.id, 'seat_idx', t.seat_idx, 'seat_id', se.seat_id, 'tariff_id', t.tariff_id,"
            " 'tariff', ta.name, 'price_cents', t.price_cents, 'status', t.status) ORDER BY t.id)"
            " FILTER (WHERE t.id IS NOT NULL), '[]') AS tickets"
            " FROM orders o LEFT JOIN tickets t ON t.order_id = o.id"
            " LEFT JOIN tariffs ta ON ta.id = t.tariff_id"
            " LEFT JOIN sessions s ON s.id = o.session_id"
            " LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx"
            " WHERE o.idempotency_key = $1 GROUP BY o.id",
            key,
        )
        if row is None:
            return None
        return {
            "id": row["id"],
            "session_id": row["session_id"],
            "hold_token": row["hold_token"],
            "channel": row["channel"],
            "kind": row["kind"],
            "buyer_name": row["buyer_name"],
            "total_cents": row["total_cents"],
            "currency": row["currency"],
            "status": row["status"],
            "created_at": row["created_at"].isoformat(),
            "tickets": json.loads(row["tickets"]),
            "_lines": [
                {"seat_idx": ln["seat"], "tariff_id": ln["tariff"]}
                for ln in json.loads(row["lines"] or "[]")
            ],
        }
