"""A cart order's lines and their delivery (docs/shop.md).

The lines are snapshotted at the checkout in ``orders.lines``: each ticket with its session,
hold token, seat, tariff; each pass with its holder; each article with its quantity; every
line with its gross price in cents, tax rate, net and tax (``till.money.split_gross``), so
what the buyer paid is what is delivered whatever changes after. :func:`deliver` inserts,
in the caller's transaction, every session's tickets with its ``sell`` outbox entry, issues
the passes and records the passes and articles in ``order_products``. The unique index on
active seats and the general-admission CHECK are the last guard, as for any sale.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg

from server.seating.outbox import Op, record
from till.money import split_gross


class PassIssuer(Protocol):
    """The door's ``PassDesk.issue`` (a pass from its type, in the caller's transaction)."""

    async def issue(
        self,
        conn: asyncpg.Connection,
        pass_type_id: int,
        first_name: str,
        last_name: str,
        photo: str | None,
        user_id: int | None,
    ) -> Any: ...


def priced(gross: int, rate_bp: int) -> dict[str, int]:
    split = split_gross(gross, rate_bp)
    return {"price": gross, "tax_rate_bp": rate_bp, "net": split.net, "tax": split.tax}


@dataclass(slots=True)
class Lines:
    """A cart order's lines (the JSON of ``orders.lines``)."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    passes: list[dict[str, Any]] = field(default_factory=list)
    articles: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    def of(cls, raw: str | None) -> Lines:
        data = json.loads(raw) if raw else {}
        return cls(data.get("tickets", []), data.get("passes", []), data.get("articles", []))

    def json(self) -> str:
        return json.dumps(
            {"tickets": self.tickets, "passes": self.passes, "articles": self.articles}
        )

    @property
    def total(self) -> int:
        return sum(ln["price"] for ln in (*self.tickets, *self.passes, *self.articles))

    def sessions(self) -> dict[int, tuple[str, list[int], int]]:
        """Per session: (hold token, seats, places)."""
        out: dict[int, tuple[str, list[int], int]] = {}
        for t in self.tickets:
            token, seats, places = out.get(t["session"], (t["token"], [], 0))
            if t["seat"] is None:
                places += 1
            else:
                seats.append(t["seat"])
            out[t["session"]] = (token, seats, places)
        return out

    def wanted(self) -> dict[int, int]:
        """``{article id: quantity}``."""
        return {a["article"]: a["quantity"] for a in self.articles}


@dataclass(frozen=True, slots=True)
class Sold:
    """A session's sale to apply to the seat mirror after the commit."""

    session_id: int
    entry: int
    args: dict[str, Any]


async def deliver(
    conn: asyncpg.Connection,
    issuer: PassIssuer,
    order_id: int,
    lines: Lines,
    tokens: dict[int, str],
) -> list[Sold]:
    """Every line of the order, in the caller's transaction; ``tokens`` names the hold
    that holds each session's seats now. Raises ``UniqueViolationError`` /
    ``CheckViolationError`` (a seat or place gone) or a ``DomainError`` (a pass type over)."""
    t = lines.tickets
    await conn.execute(
        "INSERT INTO tickets (order_id, session_id, seat_idx, tariff_id, price_cents)"
        " SELECT $1, l.session, l.seat, l.tariff, l.price FROM unnest($2::bigint[],"
        " $3::int[], $4::bigint[], $5::int[]) AS l(session, seat, tariff, price)",
        order_id,
        [x["session"] for x in t],
        [x["seat"] for x in t],
        [x["tariff"] for x in t],
        [x["price"] for x in t],
    )
    sold = []
    for session_id, (_, seats, places) in sorted(lines.sessions().items()):
        args = {"token": tokens[session_id], "seats": seats, "quantity": places}
        sold.append(Sold(session_id, await record(conn, session_id, Op.SELL, args), args))
    for p in lines.passes:
        issued = await issuer.issue(conn, p["type"], p["first"], p["last"], p["photo"], None)
        await _product(conn, order_id, "pass_id", issued.id, issued.description, 1, p)
    for a in lines.articles:
        await _product(conn, order_id, "article_id", a["article"], a["name"], a["quantity"], a)
    await conn.execute("UPDATE orders SET status = 'confirmed' WHERE id = $1", order_id)
    return sold


async def _product(
    conn: asyncpg.Connection,
    order_id: int,
    column: str,
    product_id: int,
    description: str,
    quantity: int,
    line: dict[str, Any],
) -> None:
    assert column in ("pass_id", "article_id")
    await conn.execute(
        f"INSERT INTO order_products (order_id, {column}, description, quantity, unit_cents,"
        " tax_rate_bp, net_cents, tax_cents, gross_cents)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        order_id,
        product_id,
        description,
        quantity,
        line["price"] // quantity,
        line["tax_rate_bp"],
        line["net"],
        line["tax"],
        line["price"],
    )
