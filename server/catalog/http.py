"""HTTP handlers of the catalogue: venues, rooms, seat plans, sessions, tariffs."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.identity.auth import require
from server.identity.roles import Role
from server.platform.errors import Conflict, Invalid
from server.platform.failpoints import failpoint
from server.seating.live import HoldRefused
from server.seating.outbox import Op, record
from server.web.requests import field, id_field, json_body, page, path_id, string_list, timestamp


def _state(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state


async def list_sessions(request: Request) -> JSONResponse:
    """List sessions (upcoming only unless ?all=1).
    ---
    tags: [catalogue]
    responses:
      200: {description: "sessions with room and venue names"}
    """
    upcoming = request.query_params.get("all") != "1"
    rows = await _state(request).catalog.list_sessions(upcoming, (pg := page(request)))
    return JSONResponse(pg.body("sessions", rows))


async def get_session(request: Request) -> JSONResponse:
    """One session with its tariffs and contingents.
    ---
    tags: [catalogue]
    responses:
      200: {description: session}
      404: {description: not_found}
    """
    return JSONResponse(
        await _state(request).catalog.session_detail(path_id(request, "session_id"))
    )


async def get_seat_map(request: Request) -> JSONResponse:
    """The session's seats in wire order: [id, label, row, zone, category, x, y, accessible].
    Live states come over the WebSocket channel `seats:<session_id>`.
    ---
    tags: [catalogue]
    responses:
      200: {description: seat plan for drawing}
    """
    body = await _state(request).catalog.seat_map(path_id(request, "session_id"))
    return JSONResponse(body, headers={"Cache-Control": "max-age=60"})


async def get_fill(request: Request) -> JSONResponse:
    """The session's fill gauge: capacity, sold, held, free (also pushed on `gauge:<id>`).
    ---
    tags: [catalogue]
    responses:
      200: {description: gauge}
    """
    session_id = path_id(request, "session_id")
    await _state(request).catalog.session(session_id)
    snap = await _state(request).live.snapshot(session_id)
    return JSONResponse(
        {
            "session_id": session_id,
            "epoch": snap.epoch,
            "seq": snap.seq,
            "capacity": snap.capacity,
            "sold": snap.sold,
            "held": snap.held,
            "free": snap.free,
        }
    )


async def create_venue(request: Request) -> JSONResponse:
    """Create a venue (admin).
    ---
    tags: [admin]
    requestBody: {content: {application/json: {example: {name: "Festival grounds"}}}}
    responses:
      201: {description: venue}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    return JSONResponse(await _state(request).catalog.create_venue(field(body, "name", str)), 201)


async def list_venues(request: Request) -> JSONResponse:
    """Venues and their rooms.
    ---
    tags: [catalogue]
    responses:
      200: {description: venues}
    """
    pg = page(request)
    return JSONResponse(pg.body("venues", await _state(request).catalog.list_venues(pg)))


async def create_room(request: Request) -> JSONResponse:
    """Create a room in a venue (admin).
    ---
    tags: [admin]
    requestBody: {content: {application/json: {example: {name: "Salle 1"}}}}
    responses:
      201: {description: room}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    room = await _state(request).catalog.create_room(
        path_id(request, "venue_id"), field(body, "name", str)
    )
    return JSONResponse(room, 201)


async def import_plan(request: Request) -> JSONResponse:
    """Import a seat plan (format `guichet.seatplan/1`, see docs/seatplan-format.md) as the
    room's new plan version. The room's sessions that have not ended move onto it (tickets
    follow their seat ids; current holds of those sessions are dropped and their seat maps
    resync under a new epoch). Refused (409 `plan_drops_sold_seats`) if it removes a sold seat.
    ---
    tags: [admin]
    responses:
      201: {description: plan id and seat count}
      400: {description: a plan validation error (code and JSON path)}
      409: {description: plan_drops_sold_seats}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    state = _state(request)
    plan = await state.catalog.import_plan(path_id(request, "room_id"), body)
    await failpoint("catalog.plan_after_commit")
    for session_id, entry in zip(plan["moved_sessions"], plan.pop("outbox"), strict=True):
        await state.outbox.apply_now(entry, session_id, Op.RELOAD)
    return JSONResponse(plan, 201)


async def export_plan(request: Request) -> JSONResponse:
    """Export a seat plan in the import format.
    ---
    tags: [catalogue]
    responses:
      200: {description: plan document}
    """
    return JSONResponse(await _state(request).catalog.export_plan(path_id(request, "plan_id")))


async def create_session(request: Request) -> JSONResponse:
    """Create a session of an event in a room (admin). Seated sessions use the room's current
    plan; general-admission sessions take `capacity` or the sum of their `contingents`.
    ---
    tags: [admin]
    requestBody:
      content:
        application/json:
          example:
            room_id: 1
            event_name: "Opening night"
            starts_at: "2026-12-01T20:00:00+01:00"
            ends_at: "2026-12-01T22:00:00+01:00"
            seated: true
            tariffs: [{name: "Full", price_cents: 1500, currency: "EUR"}]
            blocked_seats: ["hall-A-1"]
    responses:
      201: {description: session detail}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    starts, ends = timestamp(body, "starts_at"), timestamp(body, "ends_at")
    if ends <= starts:
        raise Invalid("invalid_field", "'ends_at' must be after 'starts_at'", field="ends_at")
    tariffs = body.get("tariffs") or []
    contingents = body.get("contingents") or []
    if not isinstance(tariffs, list) or not isinstance(contingents, list):
        raise Invalid("invalid_field", "'tariffs' and 'contingents' are lists")
    clean: dict[str, Any] = {
        "room_id": id_field(body, "room_id"),
        "event_name": field(body, "event_name", str),
        "starts_at": starts,
        "ends_at": ends,
        "seated": field(body, "seated", bool),
        "capacity": field(body, "capacity", int, None, minimum=0),
        "sales_open": field(body, "sales_open", bool, True),
        "tariffs": [
            {
                "name": field(t, "name", str),
                "price_cents": field(t, "price_cents", int, minimum=0),
                "currency": field(t, "currency", str, "EUR"),
            }
            for t in tariffs
        ],
        "contingents": [
            {
                "name": field(c, "name", str),
                "capacity": field(c, "capacity", int, minimum=0),
                "seat_ids": string_list(c, "seat_ids"),
            }
            for c in contingents
        ],
        "blocked_seats": string_list(body, "blocked_seats"),
    }
    for t in clean["tariffs"]:
        if len(t["currency"]) != 3:
            raise Invalid("invalid_field", "'currency' is an ISO 4217 code", field="currency")
    return JSONResponse(await _state(request).catalog.create_session(clean), 201)


async def update_session(request: Request) -> JSONResponse:
    """Open or close sales of a session (admin).
    ---
    tags: [admin]
    requestBody: {content: {application/json: {example: {sales_open: false}}}}
    responses:
      200: {description: session}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    session = await _state(request).catalog.set_sales_open(
        path_id(request, "session_id"), field(body, "sales_open", bool)
    )
    return JSONResponse(session.to_json())


async def add_tariff(request: Request) -> JSONResponse:
    """Add a tariff to a session (admin).
    ---
    tags: [admin]
    requestBody:
      content:
        application/json: {example: {name: "Student", price_cents: 900, currency: "EUR"}}
    responses:
      201: {description: tariff}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    tariff = await _state(request).catalog.add_tariff(
        path_id(request, "session_id"),
        {
            "name": field(body, "name", str),
            "price_cents": field(body, "price_cents", int, minimum=0),
            "currency": field(body, "currency", str, "EUR"),
        },
    )
    return JSONResponse(tariff, 201)


async def set_blocked(request: Request) -> JSONResponse:
    """Block (make unavailable) or unblock seats of a session (admin). Blocking a held or
    sold seat is refused with 409 `seats_taken` and the seats.
    ---
    tags: [admin]
    requestBody: {content: {application/json: {example: {seats: ["hall-A-1"], blocked: true}}}}
    responses:
      200: {description: "seq of the change"}
      409: {description: seats_taken}
    """
    require(request.state.principal, Role.ADMIN)
    state = _state(request)
    session_id = path_id(request, "session_id")
    body = await json_body(request)
    blocked = field(body, "blocked", bool)
    session = await state.catalog.session(session_id)
    seat_ids = string_list(body, "seats")
    indices = await state.catalog.seat_indices(session, seat_ids)
    async with state.catalog.pool.acquire() as conn, conn.transaction():
        if blocked:
            await conn.executemany(
                "INSERT INTO blocked_seats (session_id, seat_idx) VALUES ($1, $2)"
                " ON CONFLICT DO NOTHING",
                [(session_id, i) for i in indices],
            )
        else:
            await conn.execute(
                "DELETE FROM blocked_seats WHERE session_id = $1 AND seat_idx = ANY($2::int[])",
                session_id,
                indices,
            )
        # The mirror refuses seats that are held or sold, so it is told inside the
        # transaction; the outbox entry marks it applied should the commit be retried.
        entry = await record(conn, session_id, Op.BLOCK, {"seats": indices, "blocked": blocked})
        try:
            seq = await state.live.block(session_id, indices, blocked, outbox_id=entry)
        except HoldRefused as exc:
            taken = [seat_ids[indices.index(i)] for i in exc.seats]
            raise Conflict("seats_taken", "some seats are held or sold", seats=taken) from exc
    state.outbox.done(entry)
    return JSONResponse({"seq": seq})


ROUTES = [
    Route("/api/venues", list_venues, methods=["GET"]),
    Route("/api/venues", create_venue, methods=["POST"]),
    Route("/api/venues/{venue_id:int}/rooms", create_room, methods=["POST"]),
    Route("/api/rooms/{room_id:int}/seat-plan", import_plan, methods=["PUT"]),
    Route("/api/seat-plans/{plan_id:int}", export_plan, methods=["GET"]),
    Route("/api/sessions", list_sessions, methods=["GET"]),
    Route("/api/sessions", create_session, methods=["POST"]),
    Route("/api/sessions/{session_id:int}", get_session, methods=["GET"]),
    Route("/api/sessions/{session_id:int}", update_session, methods=["PATCH"]),
    Route("/api/sessions/{session_id:int}/seat-map", get_seat_map, methods=["GET"]),
    Route("/api/sessions/{session_id:int}/fill", get_fill, methods=["GET"]),
    Route("/api/sessions/{session_id:int}/tariffs", add_tariff, methods=["POST"]),
    Route("/api/sessions/{session_id:int}/blocked-seats", set_blocked, methods=["POST"]),
]
