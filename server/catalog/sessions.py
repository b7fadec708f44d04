"""Editing a session after it was created, and the list of what was booked on it.

``update`` runs in the caller's transaction. Capacity can change only for general
admission: the ``ga_counters`` row follows the session's capacity (trigger of migration
0007) and its ``CHECK (sold <= capacity)`` refuses a capacity below the places sold
(409 ``capacity_below_sold``). The live mirror learns the new capacity through a
``capacity`` outbox entry (``session_capacity.lua``: the gauge follows, holds stay); a new
end time moves the session's retirement.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from server.platform.errors import Conflict, Invalid, NotFound
from server.web.requests import Page

EDITABLE = (
    "event_name",
    "starts_at",
    "ends_at",
    "capacity",
    "sales_open",
    "sell_online_after_start",
)


async def update(
    conn: asyncpg.Connection, session_id: int, changes: dict[str, Any]
) -> tuple[asyncpg.Record, asyncpg.Record]:
    """Apply ``changes`` to the session; returns its rows (before, after)."""
    before = await conn.fetchrow("SELECT * FROM sessions WHERE id = $1 FOR UPDATE", session_id)
    if before is None:
        raise NotFound.of("session")
    starts: datetime = changes.get("starts_at", before["starts_at"])
    ends: datetime = changes.get("ends_at", before["ends_at"])
    if ends <= starts:
        raise Invalid("invalid_field", "'ends_at' must be after 'starts_at'", field="ends_at")
    if "capacity" in changes and before["seated"]:
        raise Invalid(
            "capacity_seated",
            "a seated session's capacity is its plan's seat count; block seats instead",
        )
    fields = [f for f in EDITABLE if f in changes]
    if not fields:
        return before, before
    sets = ", ".join(f"{f} = ${i}" for i, f in enumerate(fields, start=2))
    try:
        async with conn.transaction():  # a savepoint: the refusal below keeps the connection
            after = await conn.fetchrow(
                f"UPDATE sessions SET {sets} WHERE id = $1 RETURNING *",
                session_id,
                *(changes[f] for f in fields),
            )
    except asyncpg.CheckViolationError as exc:  # ga_within_capacity
        sold = await conn.fetchval("SELECT sold FROM ga_counters WHERE session_id = $1", session_id)
        raise Conflict(
            "capacity_below_sold", "more places are sold than this capacity", sold=sold
        ) from exc
    return before, after


_TICKETS = """
SELECT t.id, t.seat_idx, se.seat_id, se.label AS seat_label, se.row_label AS seat_row,
       t.tariff_id, ta.name AS tariff, t.price_cents, o.currency, t.status,
       t.order_id, o.channel, o.kind, coalesce(p.holder_name, o.buyer_name) AS buyer_name,
       t.pass_id, t.created_at
FROM tickets t
JOIN orders o ON o.id = t.order_id
JOIN sessions s ON s.id = t.session_id
LEFT JOIN tariffs ta ON ta.id = t.tariff_id
LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx
LEFT JOIN passes p ON p.id = t.pass_id
WHERE t.session_id = $1
ORDER BY t.id
"""


async def tickets(conn: asyncpg.Connection, session_id: int, page: Page) -> list[dict[str, Any]]:
    """Tickets and pass bookings of a session, oldest first."""
    if not await conn.fetchval("SELECT 1 FROM sessions WHERE id = $1", session_id):
        raise NotFound.of("session")
    rows = await conn.fetch(_TICKETS + page.sql(), session_id)
    return [{**dict(r), "created_at": r["created_at"].isoformat()} for r in rows]
