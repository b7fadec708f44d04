"""Overbooking at the cash desk: selling a seat the organiser blocked, or general-admission
places past the capacity (permission ``sell.overbook``, docs/cash.md).

An overbooking sells without a hold: nobody else can hold a blocked seat, and places past
the capacity are by definition not for the shop. The order is a desk sale like any other
(journalled, audited as ``order.overbook``), then the outbox marks it sold in the live
mirror, which takes a blocked seat into the capacity (``holds_sell.lua``) and lets the
places sold pass the capacity; the gauge shows no free place.

- A seat must still be blocked in Postgres: its ``blocked_seats`` row is locked in the
  order's transaction (an unblock waits), and the partial unique index on active tickets
  refuses a seat sold twice. A seat that is not blocked is sold through a hold.
- Places are refused while the session still has room for them (``room_left``): the
  cashier sells them normally. Otherwise ``ga_counters.overbooked`` grows by the places
  sold, so the capacity CHECK (migration ``0016_overbooking.sql``) admits them and every
  hold already made still fits.
"""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from server.platform.errors import Conflict, Invalid
from server.seating.live import Live

OVERBOOK_TOKEN = "overbook"
"""The hold token an overbooking's order records (it has no hold)."""


async def check_overbooking(live: Live, session_id: int, desk_sale: bool, places: int) -> None:
    """Refuse before anything is written what would not be an overbooking: anything but a
    sale at a register, or places the session still has room for."""
    if not desk_sale:
        raise Invalid(
            "overbook_at_register", "overbooking is a sale at a register session, paid there"
        )
    if places:
        snapshot = await live.snapshot(session_id)
        if snapshot.free >= places:
            raise Conflict(
                "room_left",
                "the session still has room for these places: sell them normally",
                available=snapshot.free,
            )


async def make_room(
    conn: asyncpg.Connection,
    session_id: int,
    seats: Sequence[int],
    places: int,
    seat_ids: tuple[str, ...],
) -> dict[str, object]:
    """In the order's transaction: lock the blocked seats sold (all must be blocked) or
    raise the general-admission allowance; what the audit entry records."""
    if seats:
        rows = await conn.fetch(
            "SELECT seat_idx FROM blocked_seats WHERE session_id = $1"
            " AND seat_idx = ANY($2::int[]) FOR UPDATE",
            session_id,
            list(seats),
        )
        missing = sorted(set(seats) - {r["seat_idx"] for r in rows})
        if missing:
            raise Conflict(
                "seats_not_blocked",
                "only blocked seats are overbooked; sell the others through a hold",
                seats=[seat_ids[i] for i in missing],
            )
    if places:
        await conn.execute(
            "UPDATE ga_counters SET overbooked = overbooked + $2 WHERE session_id = $1",
            session_id,
            places,
        )
    return {"blocked_seats": [seat_ids[i] for i in seats], "places": places}
