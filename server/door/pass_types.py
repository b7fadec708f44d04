"""Pass types, and the passes sold from them at the cash desk (docs/passes.md).

A pass type is a product an organiser defines: a name, a gross price with its tax rate and
currency, and what its passes may attend: every session starting within a period, or the
sessions listed; at most ``max_sessions`` of them when set.

:class:`PassDesk` is what the cash desk asks of passes (``server.cash.pass_sales``
declares it as a protocol of its own, and ``server/app.py`` wires this class in): issue a
pass from a type inside the sale's transaction, the sold pass with its code, and, inside a
refund's transaction, the pass refunded with the bookings it has not used.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from server.door.pass_booking import lock_pass
from server.door.passes import PassService, check_photo
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, NotFound

TIME_MAX = datetime.fromtimestamp((1 << 32) - 1, UTC)  # codes carry uint32 unix seconds
OPEN_BEFORE = timedelta(hours=2)
"""A pass for listed sessions is valid from the first one's start less this (as tickets)."""

_COLUMNS = (
    "id, name, price_cents, currency, tax_rate_bp, valid_from, valid_until, session_ids,"
    " max_sessions, active, sold_online, created_at"
)
FIELDS = (
    "name",
    "price_cents",
    "currency",
    "tax_rate_bp",
    "valid_from",
    "valid_until",
    "session_ids",
    "max_sessions",
    "active",
    "sold_online",
)


def type_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "price_cents": row["price_cents"],
        "currency": row["currency"],
        "tax_rate_bp": row["tax_rate_bp"],
        "valid_from": row["valid_from"].isoformat() if row["valid_from"] else None,
        "valid_until": row["valid_until"].isoformat() if row["valid_until"] else None,
        "session_ids": list(row["session_ids"]),
        "max_sessions": row["max_sessions"],
        "active": row["active"],
        "sold_online": row["sold_online"],
        "created_at": row["created_at"].isoformat(),
    }


async def check_type(conn: asyncpg.Connection, t: dict[str, Any]) -> None:
    """A period or listed sessions (existing ones), never both; a period within what a
    code can carry."""
    period = t["valid_from"] is not None or t["valid_until"] is not None
    if period == bool(t["session_ids"]):
        raise Invalid(
            "invalid_field",
            "give either a period ('valid_from', 'valid_until') or 'session_ids'",
            field="session_ids",
        )
    if period:
        start, end = t["valid_from"], t["valid_until"]
        if start is None or end is None or end <= start:
            raise Invalid("invalid_field", "'valid_until' must come after 'valid_from'")
        if start.timestamp() < 0 or end > TIME_MAX:
            raise Invalid("invalid_field", "the validity period is out of range")
        return
    found = {
        r["id"]
        for r in await conn.fetch(
            "SELECT id FROM sessions WHERE id = ANY($1::bigint[])", list(t["session_ids"])
        )
    }
    unknown = sorted(set(t["session_ids"]) - found)
    if unknown:
        raise Invalid("unknown_sessions", "no such sessions", session_ids=unknown)


class PassTypes:
    """Create, list and change pass types (``catalog.manage``; listed with ``sell``)."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(self, fields: dict[str, Any], actor: Actor) -> dict[str, Any]:
        t = {"valid_from": None, "valid_until": None, "session_ids": [], **fields}
        t["session_ids"] = sorted(set(t["session_ids"]))
        async with connection(self.pool) as conn, conn.transaction():
            await check_type(conn, t)
            row = await conn.fetchrow(
                "INSERT INTO pass_types (name, price_cents, currency, tax_rate_bp, valid_from,"
                " valid_until, session_ids, max_sessions, active, sold_online)"
                f" VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING {_COLUMNS}",
                *(t.get(f) for f in FIELDS[:-2]),
                t.get("active", True),
                t.get("sold_online", False),
            )
            await audit.record(conn, actor, "pass_type.create", f"pass_type:{row['id']}")
        return type_json(row)

    async def all(self, active_only: bool) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                f"SELECT {_COLUMNS} FROM pass_types WHERE active OR NOT $1 ORDER BY name, id",
                active_only,
            )
        return [type_json(r) for r in rows]

    async def update(self, type_id: int, fields: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """Change the fields given; passes already sold keep what they were sold with."""
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT {_COLUMNS} FROM pass_types WHERE id = $1 FOR UPDATE", type_id
            )
            if row is None:
                raise NotFound.of("pass type")
            t = {**dict(row), **fields}
            t["session_ids"] = sorted(set(t["session_ids"]))
            await check_type(conn, t)
            row = await conn.fetchrow(
                "UPDATE pass_types SET name = $2, price_cents = $3, currency = $4,"
                " tax_rate_bp = $5, valid_from = $6, valid_until = $7, session_ids = $8,"
                f" max_sessions = $9, active = $10, sold_online = $11 WHERE id = $1"
                f" RETURNING {_COLUMNS}",
                type_id,
                *(t[f] for f in FIELDS),
            )
            await audit.record(
                conn, actor, "pass_type.update", f"pass_type:{type_id}", fields=sorted(fields)
            )
        return type_json(row)


@dataclass(frozen=True, slots=True)
class Issued:
    """A pass issued from a type, with what its journal line needs."""

    id: int
    description: str
    price_cents: int
    currency: str
    tax_rate_bp: int


class PassDesk:
    """Passes as the cash desk sells and refunds them."""

    def __init__(self, pool: asyncpg.Pool, passes: PassService) -> None:
        self.pool = pool
        self.passes = passes

    async def issue(
        self,
        conn: asyncpg.Connection,
        pass_type_id: int,
        first_name: str,
        last_name: str,
        photo: str | None,
        user_id: int | None,
    ) -> Issued:
        """A pass of the type for the holder, in the caller's transaction: 404
        ``unknown_pass_type``, 409 ``pass_type_inactive``, 409 ``pass_type_over`` when its
        sessions or period are over, 400 ``photo_too_large`` or ``invalid_field`` for the
        photo."""
        t = await conn.fetchrow(f"SELECT {_COLUMNS} FROM pass_types WHERE id = $1", pass_type_id)
        if t is None:
            raise NotFound("unknown_pass_type", "no such pass type")
        if not t["active"]:
            raise Conflict("pass_type_inactive", "this pass type is not sold any more")
        start, end = t["valid_from"], t["valid_until"]
        if not t["session_ids"]:
            all_sessions = True
        else:
            all_sessions = False
            span = await conn.fetchrow(
                "SELECT min(starts_at) AS start, max(ends_at) AS end FROM sessions"
                " WHERE id = ANY($1::bigint[])",
                list(t["session_ids"]),
            )
            start, end = span["start"] - OPEN_BEFORE, span["end"]
        if end <= datetime.now(UTC):
            raise Conflict("pass_type_over", "the sessions of this pass type are over")
        holder = f"{first_name} {last_name}"
        photo = check_photo(photo)
        pass_id = await conn.fetchval(
            "INSERT INTO passes (holder_name, holder_first_name, holder_last_name, photo,"
            " valid_from, valid_until, all_sessions, session_ids, max_sessions, created_by,"
            " pass_type_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id",
            holder,
            first_name,
            last_name,
            photo,
            start,
            end,
            all_sessions,
            list(t["session_ids"]),
            t["max_sessions"],
            user_id,
            pass_type_id,
        )
        return Issued(
            pass_id, f"{t['name']} - {holder}", t["price_cents"], t["currency"], t["tax_rate_bp"]
        )

    async def sold(self, pass_id: int) -> dict[str, Any]:
        """The pass with its bookings and its code (for the receipt and the card)."""
        code, _ = await self.passes.code(pass_id)
        return {**await self.passes.get(pass_id), "code": code}

    async def unused_bookings(self, pass_ids: list[int]) -> list[int]:
        """The bookings of the passes not used yet: not entered, their session not over."""
        async with connection(self.pool) as conn:
            return await _unused(conn, pass_ids)

    async def refund(
        self, conn: asyncpg.Connection, pass_ids: list[int], refunded: set[int]
    ) -> None:
        """In the refund's transaction, under each pass's lock: the passes become
        ``refunded`` (the door refuses their codes) and ``refunded`` must hold every
        booking they have not used (409 ``pass_bookings_changed`` if one was booked
        meanwhile: try again)."""
        for pass_id in sorted(set(pass_ids)):
            await lock_pass(conn, pass_id)
        rows = await conn.fetch(
            "UPDATE passes SET status = 'refunded' WHERE id = ANY($1::bigint[])"
            " AND status = 'active' RETURNING id",
            pass_ids,
        )
        if len(rows) != len(set(pass_ids)):
            raise Conflict("already_refunded", "this pass is not active any more")
        if set(await _unused(conn, pass_ids)) - refunded:
            raise Conflict(
                "pass_bookings_changed", "the pass booked a session meanwhile: try again"
            )


async def _unused(conn: asyncpg.Connection, pass_ids: list[int]) -> list[int]:
    rows = await conn.fetch(
        "SELECT t.id FROM tickets t JOIN sessions s ON s.id = t.session_id"
        " WHERE t.pass_id = ANY($1::bigint[]) AND t.status = 'active' AND s.ends_at > now()"
        " AND NOT EXISTS (SELECT 1 FROM entries e WHERE e.session_id = t.session_id"
        "   AND e.ticket_id = t.id) ORDER BY t.id",
        pass_ids,
    )
    return [r["id"] for r in rows]
