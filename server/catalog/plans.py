"""Writing seat plans: a new plan version, its seats, and moving sessions onto it.

Helpers of ``Catalog.import_plan`` that run inside its transaction (docs/catalog.md, "Plans
are immutable and versioned").
"""

from __future__ import annotations

import json

import asyncpg

from seatmap.plan import SeatPlan, dropped_seats, parse_plan, plan_to_document
from server.platform.errors import Conflict


async def refuse_dropping_sold(
    conn: asyncpg.Connection, old_plan_id: int, plan: SeatPlan, sessions: list[int]
) -> None:
    dropped = dropped_seats(await plan_from_db(conn, old_plan_id), plan)
    if not dropped or not sessions:
        return
    sold = await conn.fetch(
        "SELECT DISTINCT se.seat_id FROM tickets t"
        " JOIN seats se ON se.plan_id = $1 AND se.idx = t.seat_idx"
        " WHERE t.session_id = ANY($2::bigint[]) AND t.status = 'active'"
        " AND se.seat_id = ANY($3::text[])",
        old_plan_id,
        sessions,
        sorted(dropped),
    )
    if sold:
        raise Conflict(
            "plan_drops_sold_seats",
            "the new plan removes seats that are sold",
            seats=sorted(r["seat_id"] for r in sold),
        )


async def move_sessions(
    conn: asyncpg.Connection, old_plan_id: int, new_plan_id: int, sessions: list[int]
) -> None:
    """Re-point sessions to a new plan version; seat indices follow the seat ids.

    Indices are first moved to negative values so the permutation never trips the
    unique index on active tickets per seat."""
    kept = (
        "EXISTS (SELECT 1 FROM seats o JOIN seats n ON n.seat_id = o.seat_id AND n.plan_id = $2"
        " WHERE o.plan_id = $1 AND o.idx = {table}.seat_idx)"
    )
    # Blocked seats the new plan drops go with them; so do the seats of old
    # (refunded or cancelled) tickets. Active tickets of dropped seats were refused above.
    await conn.execute(
        "DELETE FROM blocked_seats WHERE session_id = ANY($3::bigint[]) AND NOT "
        + kept.format(table="blocked_seats"),
        old_plan_id,
        new_plan_id,
        sessions,
    )
    await conn.execute(
        "UPDATE tickets SET seat_idx = NULL WHERE session_id = ANY($3::bigint[])"
        " AND seat_idx IS NOT NULL AND NOT " + kept.format(table="tickets"),
        old_plan_id,
        new_plan_id,
        sessions,
    )
    for table in ("tickets", "blocked_seats"):
        await conn.execute(
            f"UPDATE {table} SET seat_idx = -1 - n.idx"
            " FROM seats o JOIN seats n ON n.seat_id = o.seat_id AND n.plan_id = $2"
            f" WHERE o.plan_id = $1 AND o.idx = {table}.seat_idx"
            f" AND {table}.session_id = ANY($3::bigint[])",
            old_plan_id,
            new_plan_id,
            sessions,
        )
        await conn.execute(
            f"UPDATE {table} SET seat_idx = -1 - seat_idx"
            " WHERE session_id = ANY($1::bigint[]) AND seat_idx < 0",
            sessions,
        )
    await conn.execute(
        "UPDATE sessions SET seat_plan_id = $1,"
        " capacity = (SELECT seat_count FROM seat_plans WHERE id = $1)"
        " WHERE id = ANY($2::bigint[])",
        new_plan_id,
        sessions,
    )


async def insert_plan(conn: asyncpg.Connection, room_id: int, plan: SeatPlan) -> int:
    plan_id: int = await conn.fetchval(
        "INSERT INTO seat_plans (room_id, name, document, seat_count)"
        " VALUES ($1, $2, $3::jsonb, $4) RETURNING id",
        room_id,
        plan.name,
        json.dumps(plan_to_document(plan)),
        len(plan.seats),
    )
    await conn.copy_records_to_table(
        "seats",
        columns=[
            "plan_id",
            "idx",
            "seat_id",
            "label",
            "row_label",
            "zone",
            "category",
            "x",
            "y",
            "accessible",
        ],
        records=[
            (plan_id, i, s.id, s.label, s.row, s.zone, s.category, s.x, s.y, s.accessible)
            for i, s in enumerate(plan.seats)
        ],
    )
    return plan_id


async def plan_from_db(conn: asyncpg.Connection, plan_id: int) -> SeatPlan:
    doc = await conn.fetchval("SELECT document FROM seat_plans WHERE id = $1", plan_id)
    return parse_plan(json.loads(doc))
