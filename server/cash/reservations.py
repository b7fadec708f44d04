"""Unpaid reservations at the desk: finding them (by number or buyer's name), and collecting
the payment of one, which turns it into a sale journalled as a desk order's would be
(docs/cash.md, "Reservations at the desk").

One transaction locks the order, checks that it is a reservation whose tickets are all
active, sets ``orders.kind`` to ``sale`` (the door no longer releases it when unscanned),
writes the ``sale`` entry with ``DeskJournal.sale_entry`` (the code of desk orders), names
the entry and the idempotency key in ``reservation_payments`` and writes the audit entry.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import asyncpg

from server.cash.desk import DeskJournal, check_payments
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, Mismatch, NotFound
from server.sales.service import DeskSale

MAX_FOUND = 50

SEARCH = """
SELECT o.id, o.session_id, o.buyer_name, o.currency, o.created_at, s.event_name,
       s.starts_at, sum(t.price_cents)::int AS total_cents,
       json_agg(json_build_object('id', t.id, 'seat_id', se.seat_id, 'tariff_id', t.tariff_id,
                'tariff', ta.name, 'price_cents', t.price_cents) ORDER BY t.id) AS tickets
  FROM orders o
  JOIN tickets t ON t.order_id = o.id AND t.status = 'active'
  JOIN sessions s ON s.id = o.session_id
  JOIN tariffs ta ON ta.id = t.tariff_id
  LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
 WHERE o.kind = 'reservation'
   AND ($1::bigint IS NULL OR o.id = $1)
   AND ($2::text IS NULL OR o.buyer_name ILIKE $2)
   AND ($3::bigint IS NULL OR o.session_id = $3)
 GROUP BY o.id, s.id
 ORDER BY o.created_at DESC, o.id DESC
 LIMIT $4
"""


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def fingerprint(order_id: int, desk: DeskSale) -> str:
    """What a retry must repeat to replay a payment."""
    body = [
        order_id,
        desk.register_session_id,
        [
            [p.method, p.amount_cents, p.given_cents, *([p.code] if p.code else [])]
            for p in desk.payments
        ],
    ]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


class DeskReservations:
    def __init__(self, pool: asyncpg.Pool, desk: DeskJournal) -> None:
        self.pool = pool
        self.desk = desk

    async def search(
        self, query: str | None, session_id: int | None, limit: int
    ) -> list[dict[str, Any]]:
        """Reservations with active tickets, newest first: ``query`` is a reservation
        number (all digits) or part of the buyer's
        name."""
        number = int(query) if query and query.isdigit() and len(query) <= 15 else None
        name = _like(query) if query and number is None else None
        async with connection(self.pool) as conn:
            rows = await conn.fetch(SEARCH, number, name, session_id, min(limit, MAX_FOUND))
        return [
            {
                "id": r["id"],
                "session_id": r["session_id"],
                "event_name": r["event_name"],
                "starts_at": r["starts_at"].isoformat(),
                "buyer_name": r["buyer_name"],
                "total_cents": r["total_cents"],
                "currency": r["currency"].strip(),
                "created_at": r["created_at"].isoformat(),
                "tickets": json.loads(r["tickets"]),
            }
            for r in rows
        ]

    async def pay(
        self, order_id: int, key: str, desk: DeskSale, user_id: int, actor: Actor
    ) -> tuple[dict[str, Any], bool]:
        """Collect the payment of reservation ``order_id`` at the caller's open register
        session. Returns the receipt and whether this call made it (False: a replay)."""
        check_payments(desk, self.desk.wallet is not None)
        print_ = fingerprint(order_id, desk)
        async with connection(self.pool) as conn, conn.transaction():
            order = await conn.fetchrow(
                "SELECT id, kind, currency FROM orders WHERE id = $1 FOR UPDATE", order_id
            )
            if order is None:
                raise NotFound.of("order")
            paid = await conn.fetchrow(
                "SELECT * FROM reservation_payments WHERE order_id = $1", order_id
            )
            if paid is not None:
                return await _replay(conn, paid, key, print_), False
            other = await conn.fetchval(
                "SELECT order_id FROM reservation_payments WHERE idempotency_key = $1", key
            )
            if other is not None:
                raise _key_reused(other)
            receipt = await self._pay(conn, order, key, print_, desk, user_id, actor)
        return receipt, True

    async def _pay(
        self,
        conn: asyncpg.Connection,
        order: asyncpg.Record,
        key: str,
        print_: str,
        desk: DeskSale,
        user_id: int,
        actor: Actor,
    ) -> dict[str, Any]:
        if order["kind"] != "reservation":
            raise Conflict("not_a_reservation", "this order is not an unpaid reservation")
        tickets = await conn.fetch(
            "SELECT id, order_id, tariff_id, price_cents, status FROM tickets"
            " WHERE order_id = $1 ORDER BY id FOR UPDATE",
            order["id"],
        )
        if not tickets or any(t["status"] != "active" for t in tickets):
            raise Conflict(
                "reservation_not_active",
                "this reservation was released or refunded",
                tickets=[t["id"] for t in tickets if t["status"] != "active"],
            )
        total = sum(t["price_cents"] for t in tickets)
        if sum(p.amount_cents for p in desk.payments) != total:
            raise Invalid(
                "payments_mismatch", "the payments do not add up to the total", total_cents=total
            )
        tariffs = {
            r["id"]: r
            for r in await conn.fetch(
                "SELECT id, name, tax_rate_bp FROM tariffs WHERE id = ANY($1::bigint[])",
                list({t["tariff_id"] for t in tickets}),
            )
        }
        await conn.execute("UPDATE orders SET kind = 'sale' WHERE id = $1", order["id"])
        currency = order["currency"].strip()
        receipt = await self.desk.sale_entry(conn, desk, user_id, tickets, tariffs, currency)
        await conn.execute(
            "INSERT INTO reservation_payments (order_id, idempotency_key, fingerprint,"
            " register_session_id, journal_id, paid_by) VALUES ($1, $2, $3, $4, $5, $6)",
            order["id"],
            key,
            print_,
            desk.register_session_id,
            receipt["journal_id"],
            user_id,
        )
        await audit.record(
            conn,
            actor,
            "order.pay",
            f"order:{order['id']}",
            journal_id=receipt["journal_id"],
            tickets=[t["id"] for t in tickets],
            total_cents=total,
            currency=currency,
        )
        return {**receipt, "order_id": order["id"], "total_cents": total, "currency": currency}


def _key_reused(order_id: int) -> Mismatch:
    return Mismatch(
        "idempotency_key_mismatch",
        "this idempotency key was used for another payment; use a new key",
        order_id=order_id,
    )


async def _replay(
    conn: asyncpg.Connection, paid: asyncpg.Record, key: str, print_: str
) -> dict[str, Any]:
    """The receipt of the payment already made, for a retry of that payment; 409
    ``already_paid`` for another payment of the same reservation."""
    if paid["idempotency_key"] != key:
        raise Conflict(
            "already_paid", "this reservation is paid already", journal_id=paid["journal_id"]
        )
    if paid["fingerprint"] != print_:
        raise _key_reused(paid["order_id"])
    entry = await conn.fetchrow(
        "SELECT id, register_id, register_session_id, receipt_no, total_cents, currency"
        " FROM journal WHERE id = $1",
        paid["journal_id"],
    )
    return {
        "journal_id": entry["id"],
        "register_id": entry["register_id"],
        "register_session_id": entry["register_session_id"],
        "receipt_no": entry["receipt_no"],
        "order_id": paid["order_id"],
        "total_cents": entry["total_cents"],
        "currency": entry["currency"].strip(),
    }
