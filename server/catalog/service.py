"""The catalogue in Postgres: venues, rooms, seat plans, sessions, tariffs, contingents.

Reads that every hold needs (a session and its plan's seat index) are cached briefly in
each process; plans are immutable once written, sessions are re-read after ``SESSION_TTL``.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from seatmap.plan import SeatPlan
from server.catalog import plans, sessions, tariffs
from server.catalog.seat_map import SeatMapBody, SeatMaps
from server.platform.audit import Actor
from server.platform.audit import record as audit
from server.platform.db import connection
from server.platform.errors import Invalid, NotFound, Unavailable
from server.seating.live import SessionFacts
from server.seating.outbox import Op, record
from server.web.requests import Page

SESSION_TTL = 1.0


@dataclass(frozen=True, slots=True)
class PlanSeats:
    """A plan's seats in wire order: ``ids[i]`` is the seat id of index ``i``,
    ``categories[i]`` its category."""

    plan_id: int
    ids: tuple[str, ...]
    index: dict[str, int]
    categories: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class SessionRow:
    id: int
    room_id: int
    event_name: str
    starts_at: datetime
    ends_at: datetime
    seated: bool
    seat_plan_id: int | None
    capacity: int
    sales_open: bool
    sell_online_after_start: bool

    def online_sales_over(self, now: datetime) -> bool:
        """The shop no longer sells this session: it has started and its organiser did not
        allow online sales after the start (the cash desk sells on regardless)."""
        return not self.sell_online_after_start and now >= self.starts_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "room_id": self.room_id,
            "event_name": self.event_name,
            "starts_at": self.starts_at.isoformat(),
            "ends_at": self.ends_at.isoformat(),
            "seated": self.seated,
            "seat_plan_id": self.seat_plan_id,
            "capacity": self.capacity,
            "sales_open": self.sales_open,
            "sell_online_after_start": self.sell_online_after_start,
        }


def _session(row: asyncpg.Record) -> SessionRow:
    return SessionRow(**{f: row[f] for f in SessionRow.__dataclass_fields__})


class Catalog:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self.seat_maps = SeatMaps(pool)
        self._plans: dict[int, PlanSeats] = {}
        self._sessions: dict[int, tuple[float, SessionRow]] = {}
        self._tariffs: dict[int, tuple[float, dict[int, asyncpg.Record]]] = {}

    # -- reads ---------------------------------------------------------------------------

    async def session(self, session_id: int) -> SessionRow:
        cached = self._sessions.get(session_id)
        now = time.monotonic()
        if cached and now - cached[0] < SESSION_TTL:
            return cached[1]
        try:
            async with connection(self.pool) as conn:
                row = await conn.fetchrow("SELECT * FROM sessions WHERE id = $1", session_id)
        except Unavailable:
            if cached:  # Postgres is down: holds live in Redis and go on with what we knew
                return cached[1]
            raise
        if row is None:
            raise NotFound.of("session")
        session = _session(row)
        self._sessions[session_id] = (now, session)
        return session

    async def plan_seats(self, plan_id: int) -> PlanSeats:
        cached = self._plans.get(plan_id)
        if cached:
            return cached
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT seat_id, category FROM seats WHERE plan_id = $1 ORDER BY idx", plan_id
            )
        ids = tuple(r["seat_id"] for r in rows)
        categories = tuple(r["category"] for r in rows)
        seats = PlanSeats(plan_id, ids, {s: i for i, s in enumerate(ids)}, categories)
        self._plans[plan_id] = seats
        return seats

    async def seat_indices(self, session: SessionRow, seat_ids: list[str]) -> list[int]:
        if not session.seated:
            if seat_ids:
                raise Invalid("not_seated", "this session has no seat plan; hold a quantity")
            return []
        assert session.seat_plan_id is not None
        plan = await self.plan_seats(session.seat_plan_id)
        unknown = [s for s in seat_ids if s not in plan.index]
        if unknown:
            raise Invalid("unknown_seats", "no such seats in this session", seats=unknown)
        return [plan.index[s] for s in seat_ids]

    async def session_facts(self, session_id: int) -> SessionFacts:
        """Sold and blocked seats from Postgres: what the Redis mirror is rebuilt from."""
        async with (
            connection(self.pool) as conn,
            conn.transaction(isolation="repeatable_read", readonly=True),
        ):
            row = await conn.fetchrow(
                "SELECT s.seated, s.capacity, s.ends_at, p.seat_count FROM sessions s"
                " LEFT JOIN seat_plans p ON p.id = s.seat_plan_id WHERE s.id = $1",
                session_id,
            )
            if row is None:
                raise NotFound.of("session")
            sold_rows = await conn.fetch(
                "SELECT seat_idx FROM tickets WHERE session_id = $1 AND status = 'active'",
                session_id,
            )
            blocked = [
                r["seat_idx"]
                for r in await conn.fetch(
                    "SELECT seat_idx FROM blocked_seats WHERE session_id = $1", session_id
                )
            ]
            applied = [
                r["id"]
                for r in await conn.fetch("SELECT id FROM outbox WHERE session_id = $1", session_id)
            ]
        sold_seats = [r["seat_idx"] for r in sold_rows if r["seat_idx"] is not None]
        if row["seated"]:
            seat_count = row["seat_count"]
            capacity = seat_count - len(set(blocked) - set(sold_seats))
        else:
            seat_count, capacity = 0, row["capacity"]
        ends_at_ms = int(row["ends_at"].timestamp() * 1000)
        return SessionFacts(
            session_id,
            seat_count,
            capacity,
            len(sold_rows),
            sold_seats,
            blocked,
            applied,
            ends_at_ms,
        )

    async def list_sessions(
        self,
        upcoming_only: bool,
        page: Page,
        window: tuple[datetime | None, datetime | None] = (None, None),
    ) -> list[dict[str, Any]]:
        """Sessions by start time; ``window``: only those starting in ``[from, to)``."""
        query = (
            "SELECT s.*, r.name AS room_name, v.name AS venue_name FROM sessions s"
            " JOIN rooms r ON r.id = s.room_id JOIN venues v ON v.id = r.venue_id"
            " WHERE ($1::timestamptz IS NULL OR s.starts_at >= $1)"
            " AND ($2::timestamptz IS NULL OR s.starts_at < $2)"
        )
        if upcoming_only:
            query += " AND s.ends_at > now()"
        query += " ORDER BY s.starts_at, s.id" + page.sql()
        async with connection(self.pool) as conn:
            rows = await conn.fetch(query, *window)
        return [
            {**_session(r).to_json(), "room_name": r["room_name"], "venue_name": r["venue_name"]}
            for r in rows
        ]

    async def session_detail(self, session_id: int) -> dict[str, Any]:
        session = await self.session(session_id)
        async with connection(self.pool) as conn:
            room = await conn.fetchrow(
                "SELECT r.name, v.name AS venue FROM rooms r JOIN venues v ON v.id = r.venue_id"
                " WHERE r.id = $1",
                session.room_id,
            )
            tariff_rows = await conn.fetch(
                f"SELECT {tariffs.COLUMNS} FROM tariffs WHERE session_id = $1"
                " ORDER BY price_cents DESC, id",
                session_id,
            )
            contingents = await conn.fetch(
                "SELECT id, name, capacity, seat_ids FROM contingents WHERE session_id = $1"
                " ORDER BY id",
                session_id,
            )
        return {
            **session.to_json(),
            "room_name": room["name"],
            "venue_name": room["venue"],
            "tariffs": [tariffs.tariff_json(t, with_session=False) for t in tariff_rows],
            "contingents": [dict(c) for c in contingents],
        }

    async def tariffs(self, session_id: int) -> dict[int, asyncpg.Record]:
        """The session's tariffs by id (cached for ``SESSION_TTL`` like the session)."""
        cached = self._tariffs.get(session_id)
        now = time.monotonic()
        if cached and now - cached[0] < SESSION_TTL:
            return cached[1]
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                f"SELECT {tariffs.COLUMNS} FROM tariffs WHERE session_id = $1", session_id
            )
        by_id = {r["id"]: r for r in rows}
        self._tariffs[session_id] = (now, by_id)
        return by_id

    async def seat_map(self, session_id: int) -> SeatMapBody:
        """The session's plan for drawing (``server.catalog.seat_map``), ready to send."""
        session = await self.session(session_id)
        plan_id = session.seat_plan_id if session.seated else None
        return await self.seat_maps.body(session_id, plan_id)

    # -- writes (admin) ------------------------------------------------------------------

    async def create_venue(self, name: str, actor: Actor) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow("INSERT INTO venues (name) VALUES ($1) RETURNING *", name)
            await audit(conn, actor, "venue.create", f"venue:{row['id']}", name=name)
        return dict(row)

    async def list_venues(self, page: Page) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT v.id, v.name, coalesce(json_agg(json_build_object("
                "'id', r.id, 'name', r.name, 'seat_plan_id', r.seat_plan_id) ORDER BY r.id)"
                " FILTER (WHERE r.id IS NOT NULL), '[]') AS rooms"
                " FROM venues v LEFT JOIN rooms r ON r.venue_id = v.id GROUP BY v.id ORDER BY v.id"
                + page.sql()
            )
        return [{"id": r["id"], "name": r["name"], "rooms": json.loads(r["rooms"])} for r in rows]

    async def create_room(self, venue_id: int, name: str, actor: Actor) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            if not await conn.fetchval("SELECT 1 FROM venues WHERE id = $1", venue_id):
                raise NotFound.of("venue")
            row = await conn.fetchrow(
                "INSERT INTO rooms (venue_id, name) VALUES ($1, $2) RETURNING *", venue_id, name
            )
            await audit(
                conn, actor, "room.create", f"room:{row['id']}", venue_id=venue_id, name=name
            )
        return dict(row)

    async def import_plan(
        self, room_id: int, plan: SeatPlan, actor: Actor, fmt: str = "guichet"
    ) -> dict[str, Any]:
        """Store a new plan version for a room and move the room's sessions that have not
        ended onto it (their tickets and blocked seats follow their seat ids). Refused when
        the new plan drops a seat sold in one of those sessions. Returns the plan and the
        ids of the moved sessions, whose live mirrors must be rebuilt."""
        async with connection(self.pool) as conn, conn.transaction():
            room = await conn.fetchrow("SELECT * FROM rooms WHERE id = $1 FOR UPDATE", room_id)
            if room is None:
                raise NotFound.of("room")
            old_plan_id = room["seat_plan_id"]
            moved: list[int] = []
            if old_plan_id is not None:
                moved = [
                    r["id"]
                    for r in await conn.fetch(
                        "SELECT id FROM sessions WHERE seat_plan_id = $1 AND ends_at > now()"
                        " FOR UPDATE",
                        old_plan_id,
                    )
                ]
                await plans.refuse_dropping_sold(conn, old_plan_id, plan, moved)
            plan_id = await plans.insert_plan(conn, room_id, plan)
            await conn.execute("UPDATE rooms SET seat_plan_id = $1 WHERE id = $2", plan_id, room_id)
            if moved:
                await plans.move_sessions(conn, old_plan_id, plan_id, moved)
            reloads = [await record(conn, s, Op.RELOAD) for s in moved]
            await audit(
                conn,
                actor,
                "plan.import",
                f"room:{room_id}",
                plan_id=plan_id,
                format=fmt,
                seat_count=len(plan.seats),
                moved_sessions=moved,
            )
        for session_id in moved:
            self._sessions.pop(session_id, None)
        return {
            "id": plan_id,
            "room_id": room_id,
            "name": plan.name,
            "seat_count": len(plan.seats),
            "moved_sessions": moved,
            "outbox": reloads,
        }

    async def export_plan(self, plan_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            doc = await conn.fetchval("SELECT document FROM seat_plans WHERE id = $1", plan_id)
        if doc is None:
            raise NotFound.of("seat plan")
        result: dict[str, Any] = json.loads(doc)
        return result

    async def create_session(self, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            room = await conn.fetchrow(
                "SELECT r.id, r.seat_plan_id, p.seat_count FROM rooms r"
                " LEFT JOIN seat_plans p ON p.id = r.seat_plan_id WHERE r.id = $1",
                body["room_id"],
            )
            if room is None:
                raise NotFound.of("room")
            seated = body["seated"]
            if seated and room["seat_plan_id"] is None:
                raise Invalid("room_has_no_plan", "import a seat plan for this room first")
            contingents = body.get("contingents") or []
            if seated:
                capacity = room["seat_count"]
                contingents = await self._seated_contingents(room["seat_plan_id"], contingents)
            elif contingents:
                capacity = sum(c["capacity"] for c in contingents)
            else:
                capacity = body.get("capacity")
                if capacity is None:
                    raise Invalid(
                        "capacity_required", "a general-admission session needs a capacity"
                    )
            row = await conn.fetchrow(
                "INSERT INTO sessions (room_id, event_name, starts_at, ends_at, seated,"
                " seat_plan_id, capacity, sales_open, sell_online_after_start)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9) RETURNING *",
                room["id"],
                body["event_name"],
                body["starts_at"],
                body["ends_at"],
                seated,
                room["seat_plan_id"] if seated else None,
                capacity,
                body.get("sales_open", True),
                body.get("sell_online_after_start", False),
            )
            session_id = row["id"]
            await self._session_parts(
                conn, session_id, room["seat_plan_id"] if seated else None, body, contingents
            )
            await audit(
                conn,
                actor,
                "session.create",
                f"session:{session_id}",
                event_name=body["event_name"],
                room_id=room["id"],
                seated=seated,
                capacity=capacity,
                tariffs=len(body.get("tariffs") or []),
            )
        return await self.session_detail(session_id)

    async def _session_parts(
        self,
        conn: asyncpg.Connection,
        session_id: int,
        plan_id: int | None,
        body: dict[str, Any],
        contingents: list[dict[str, Any]],
    ) -> None:
        """Tariffs, contingents and blocked seats of a new session."""
        known = (await tariffs.session_categories(conn, [session_id]))[session_id]
        for t in body.get("tariffs") or []:
            tariffs.check_categories(session_id, known, t.get("categories") or [])
            await tariffs.insert(conn, session_id, t)
        for c in contingents:
            await conn.execute(
                "INSERT INTO contingents (session_id, name, capacity, seat_ids)"
                " VALUES ($1, $2, $3, $4)",
                session_id,
                c["name"],
                c["capacity"],
                c.get("seat_ids") or [],
            )
        blocked = body.get("blocked_seats") or []
        if blocked:
            if plan_id is None:
                raise Invalid("not_seated", "a general-admission session has no seats to block")
            plan = await self.plan_seats(plan_id)
            unknown = [s for s in blocked if s not in plan.index]
            if unknown:
                raise Invalid("unknown_seats", "no such seats in this plan", seats=unknown)
            await conn.executemany(
                "INSERT INTO blocked_seats (session_id, seat_idx) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING",
                [(session_id, plan.index[s]) for s in blocked],
            )

    async def _seated_contingents(
        self, plan_id: int, contingents: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """A seated contingent is a named group of seats: its capacity is its seat count, and
        a seat belongs to one contingent at most."""
        plan = await self.plan_seats(plan_id)
        seen: set[str] = set()
        result = []
        for c in contingents:
            seat_ids = c.get("seat_ids") or []
            unknown = [s for s in seat_ids if s not in plan.index]
            if unknown:
                raise Invalid("unknown_seats", "no such seats in this plan", seats=unknown)
            twice = sorted(seen.intersection(seat_ids))
            if twice:
                raise Invalid(
                    "seat_in_two_contingents", "a seat belongs to one contingent", seats=twice
                )
            seen.update(seat_ids)
            result.append({**c, "capacity": len(seat_ids)})
        return result

    async def update_session(
        self, session_id: int, changes: dict[str, Any], actor: Actor
    ) -> tuple[SessionRow, int | None]:
        """Change a session (``sessions.update``); returns it and the ``capacity`` outbox
        entry to apply when its live capacity changed."""
        async with connection(self.pool) as conn, conn.transaction():
            before, after = await sessions.update(conn, session_id, changes)
            entry = None
            if after["capacity"] != before["capacity"]:
                entry = await record(conn, session_id, Op.CAPACITY, {"capacity": after["capacity"]})
            changed = {f: after[f] for f in sessions.EDITABLE if after[f] != before[f]}
            if changed:
                await audit(conn, actor, "session.update", f"session:{session_id}", **changed)
        session = _session(after)
        self._sessions[session_id] = (time.monotonic(), session)
        return session, entry

    async def set_contingents(
        self, session_id: int, contingents: list[dict[str, Any]], actor: Actor
    ) -> tuple[dict[str, Any], int | None]:
        """Replace a session's contingents. Seated: named groups of its seats (a seat in
        one at most, capacity its seat count). General admission: the session's capacity
        becomes their sum (not below what is sold, 409 ``capacity_below_sold``); returns
        the ``capacity`` outbox entry that tells the live mirror, if it changed."""
        session = await self.session(session_id)
        if session.seated:
            assert session.seat_plan_id is not None
            contingents = await self._seated_contingents(session.seat_plan_id, contingents)
        entry = None
        async with connection(self.pool) as conn, conn.transaction():
            await conn.execute("DELETE FROM contingents WHERE session_id = $1", session_id)
            await conn.executemany(
                "INSERT INTO contingents (session_id, name, capacity, seat_ids)"
                " VALUES ($1, $2, $3, $4)",
                [
                    (session_id, c["name"], c["capacity"], c.get("seat_ids") or [])
                    for c in contingents
                ],
            )
            if not session.seated and contingents:
                capacity = sum(c["capacity"] for c in contingents)
                before, after = await sessions.update(conn, session_id, {"capacity": capacity})
                if after["capacity"] != before["capacity"]:
                    entry = await record(conn, session_id, Op.CAPACITY, {"capacity": capacity})
            summary = [{"name": c["name"], "capacity": c["capacity"]} for c in contingents]
            await audit(conn, actor, "session.contingents", f"session:{session_id}", set=summary)
        self._sessions.pop(session_id, None)
        return await self.session_detail(session_id), entry

    async def session_tickets(self, session_id: int, page: Page) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            return await sessions.tickets(conn, session_id, page)

    async def add_tariff(
        self, session_id: int, body: dict[str, Any], actor: Actor
    ) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            known = await tariffs.session_categories(conn, [session_id], lock=True)
            if session_id not in known:
                raise NotFound.of("session")
            tariffs.check_categories(session_id, known[session_id], body.get("categories") or [])
            tariff = await tariffs.insert(conn, session_id, body)
            await audit(conn, actor, "tariff.create", f"tariff:{tariff['id']}", **tariff)
        self._tariffs.pop(session_id, None)
        tariff.pop("session_id")
        return tariff

    async def update_tariff(
        self, tariff_id: int, changes: dict[str, Any], actor: Actor
    ) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            before, after = await tariffs.update(conn, tariff_id, changes)
            changed = {f: after[f] for f in tariffs.EDITABLE if after[f] != before[f]}
            if changed:
                await audit(
                    conn,
                    actor,
                    "tariff.update",
                    f"tariff:{tariff_id}",
                    session_id=after["session_id"],
                    **changed,
                )
        self._tariffs.pop(after["session_id"], None)
        return after

    async def apply_tariff_grid(
        self, session_ids: list[int], grid: list[dict[str, Any]], actor: Actor
    ) -> list[dict[str, Any]]:
        """Every tariff of ``grid`` on every session, in one transaction."""
        async with connection(self.pool) as conn, conn.transaction():
            created = await tariffs.apply_grid(conn, session_ids, grid)
            await audit(
                conn,
                actor,
                "tariff.grid",
                "sessions:" + ",".join(map(str, session_ids)),
                session_ids=session_ids,
                tariffs=grid,
                created=[t["id"] for t in created],
            )
        for session_id in session_ids:
            self._tariffs.pop(session_id, None)
        return created
