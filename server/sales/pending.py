"""Orders of the shop that wait for their payment (docs/payments.md).

A pending order is a row of ``orders`` (status ``pending``) with its seats, tariffs and
prices in ``lines``; it has no tickets yet, so nothing that reads tickets (the door,
reports, refunds, the seat mirror's rebuild) counts it. Its hold stays claimed in Redis
for the payment window. Once the payment is confirmed, :func:`fulfil` inserts the tickets
and the ``sell`` outbox entry in the caller's transaction: the partial unique index on
active tickets (and the general-admission counter's CHECK) is the last guard, whatever
Redis said.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg

from server.seating.outbox import Op, record


def pays_online(channel: str, kind: str, total_cents: int) -> bool:
    """Whether an order waits for an online payment: a sale of the shop (a buyer without
    the ``sell`` permission) with something to pay. Desk orders, reservations and free
    orders do not."""
    return channel == "web" and kind == "sale" and total_cents > 0


@dataclass(frozen=True, slots=True)
class PendingOrder:
    """What a payment confirmation needs of its order."""

    id: int
    session_id: int
    hold_token: str
    idempotency_key: str
    status: str
    buyer_email: str | None
    lines: tuple[tuple[int | None, int, int], ...]
    """(seat index or None for a place, tariff id, price in cents)."""

    @property
    def seats(self) -> list[int]:
        return [seat for seat, _, _ in self.lines if seat is not None]

    @property
    def places(self) -> int:
        return sum(1 for seat, _, _ in self.lines if seat is None)

    @classmethod
    def of(cls, row: asyncpg.Record) -> PendingOrder:
        lines = json.loads(row["lines"]) if row["lines"] else []
        return cls(
            row["id"],
            row["session_id"],
            row["hold_token"],
            row["idempotency_key"],
            row["status"],
            row["buyer_email"],
            tuple((ln["seat"], ln["tariff"], ln["price"]) for ln in lines),
        )


INSERT_PENDING = (
    "INSERT INTO orders (idempotency_key, session_id, hold_token, channel, buyer_name,"
    " buyer_email, total_cents, currency, created_by, kind, status, lines)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'pending', $11::jsonb)"
    " ON CONFLICT (idempotency_key) DO NOTHING RETURNING id"
)


def lines_json(seats: list[int | None], tariffs: list[int], prices: list[int]) -> str:
    return json.dumps(
        [
            {"seat": s, "tariff": t, "price": p}
            for s, t, p in zip(seats, tariffs, prices, strict=True)
        ]
    )


async def load(conn: asyncpg.Connection, order_id: int, lock: bool = False) -> PendingOrder:
    row = await conn.fetchrow(
        "SELECT id, session_id, hold_token, idempotency_key, status, buyer_email, lines"
        " FROM orders WHERE id = $1" + (" FOR UPDATE" if lock else ""),
        order_id,
    )
    assert row is not None
    return PendingOrder.of(row)


async def fulfil(
    conn: asyncpg.Connection, order: PendingOrder, token: str
) -> tuple[list[int], int]:
    """Inside the caller's transaction: the order's tickets, its ``sell`` outbox entry
    (the seats leave hold ``token``) and its status ``confirmed``. Raises
    ``UniqueViolationError`` (a seat sold meanwhile) or ``CheckViolationError`` (a
    general-admission session full). Returns (ticket ids, outbox entry)."""
    ids = await conn.fetch(
        "INSERT INTO tickets (order_id, session_id, seat_idx, tariff_id, price_cents)"
        " SELECT $1, $2, l.seat, l.tariff, l.price"
        " FROM unnest($3::int[], $4::bigint[], $5::int[]) AS l(seat, tariff, price)"
        " RETURNING id",
        order.id,
        order.session_id,
        [seat for seat, _, _ in order.lines],
        [tariff for _, tariff, _ in order.lines],
        [price for _, _, price in order.lines],
    )
    args: dict[str, Any] = {"token": token, "seats": order.seats, "quantity": order.places}
    entry = await record(conn, order.session_id, Op.SELL, args)
    await conn.execute("UPDATE orders SET status = 'confirmed' WHERE id = $1", order.id)
    return [r["id"] for r in ids], entry
