"""HTTP handlers of the catalogue: venues, rooms, seat plans, sessions, tariffs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from seatmap.plan import PlanError
from seatmap.pretix import parse_any
from server.catalog.schemas import (
    MAX_NOTE,
    MAX_TARIFF_CATEGORIES,
    BlockSeats,
    ContingentsIn,
    Fill,
    NameIn,
    NewSession,
    PlanImported,
    Room,
    SeatMap,
    SeatPlanDocument,
    Seq,
    Session,
    SessionDetail,
    SessionPage,
    SessionPatch,
    Tariff,
    TariffIn,
    Venue,
    VenuePage,
)
from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.platform.audit import record as audit
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid
from server.platform.failpoints import failpoint
from server.seating.live import HoldRefused
from server.seating.outbox import Op, record
from server.web.api import PAGE, PUBLIC, Operations, Param, Timestamp
from server.web.requests import (
    INT_MAX,
    check_text,
    field,
    id_field,
    json_body,
    page,
    path_id,
    query_timestamp,
    string_list,
    timestamp,
)

OPERATIONS = Operations()
CATALOGUE = ("catalogue",)
ADMIN_TAG = ("admin",)
MANAGE = Permission.CATALOG_MANAGE
PLAN_ERRORS = (
    "unsupported_format",
    "invalid_format",
    "unknown_field",
    "invalid_label",
    "invalid_size",
    "invalid_color",
    "duplicate_category",
    "invalid_seat_id",
    "duplicate_seat_id",
    "invalid_position",
    "unknown_category",
    "too_many_seats",
    "empty_plan",
)
"""The codes of a refused seat plan (docs/seatplan-format.md); the error has its JSON path."""


def _state(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state


def _objects(body: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
        raise Invalid("invalid_field", f"'{name}' is a list of objects", field=name)
    return value


def note(body: dict[str, Any]) -> str | None:
    """The eligibility note: may be empty (``field`` refuses blank text)."""
    value = body.get("note")
    if value is None:
        return None
    if not isinstance(value, str) or len(value) > MAX_NOTE:
        raise Invalid("invalid_field", f"'note' is text of at most {MAX_NOTE} characters")
    return check_text("note", value)


def categories(body: dict[str, Any]) -> list[str] | None:
    if body.get("categories") is None:
        return None
    names = string_list(body, "categories", MAX_TARIFF_CATEGORIES)
    for name in names:
        field({"categories": name}, "categories", str, max_length=100)
    return names


def tariff_body(body: dict[str, Any]) -> dict[str, Any]:
    """A new tariff (``TariffIn``)."""
    currency = field(body, "currency", str, "EUR")
    if len(currency) != 3:
        raise Invalid("invalid_field", "'currency' is an ISO 4217 code", field="currency")
    return {
        "name": field(body, "name", str),
        "price_cents": field(body, "price_cents", int, minimum=0),
        "currency": currency,
        "tax_rate_bp": field(body, "tax_rate_bp", int, 0, minimum=0, maximum=10_000),
        "categories": categories(body) or [],
        "note": note(body) or "",
    }


EARLIEST, LATEST = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
"""Sessions happen in this century: ticket codes carry their validity as 32-bit seconds."""


def session_time(body: dict[str, Any], name: str) -> datetime:
    value = timestamp(body, name)
    if not EARLIEST <= value < LATEST:
        raise Invalid("invalid_field", f"'{name}' must be in the years 2000-2099", field=name)
    return value


def plan_format(request: Request) -> str | None:
    fmt = request.query_params.get("format")
    if fmt not in (None, "guichet", "pretix"):
        raise Invalid("invalid_field", "'format' is guichet or pretix", field="format")
    return fmt


MAX_PLAN_BODY = 16 * 1024 * 1024
"""A plan document's bytes: 100,000 seats take about 7.5 MB of JSON."""


def read_plan(body: dict[str, Any], fmt: str | None) -> tuple[Any, str]:
    """A plan in our format or pretix's (``fmt``, else told by its shape)."""
    try:
        return parse_any(body, fmt)
    except PlanError as exc:
        raise Invalid(exc.code, exc.message, path=exc.path) from exc


PLAN_FORMAT = Param(
    "format",
    Literal["guichet", "pretix"],
    description="the body's format; without it, a body with no `format` key and `zones` is"
    " read as pretix's",
)


MAX_SPAN = timedelta(days=93)
"""The longest ``from``-``to`` window of the sessions list (a calendar's month and more)."""


def starts_window(request: Request) -> tuple[datetime | None, datetime | None]:
    """``?from=&to=``: sessions starting at or after ``from`` and before ``to``; both
    needed, ``from`` before ``to``, at most ``MAX_SPAN`` apart (400 ``invalid_field``)."""
    start, end = query_timestamp(request, "from"), query_timestamp(request, "to")
    if start is None and end is None:
        return None, None
    if start is None or end is None:
        name = "to" if end is None else "from"
        raise Invalid("invalid_field", "'from' and 'to' go together", field=name)
    if not start < end <= start + MAX_SPAN:
        message = f"'to' is after 'from', at most {MAX_SPAN.days} days later"
        raise Invalid("invalid_field", message, field="to")
    return start, end


@OPERATIONS.get(
    "/api/sessions",
    tags=CATALOGUE,
    permission=PUBLIC,
    params=(
        Param("all", str, description="`1`: past sessions too"),
        Param("from", Timestamp, description="sessions starting at or after (with `to`)"),
        Param("to", Timestamp, description=f"and before (at most {MAX_SPAN.days} days on)"),
        *PAGE,
    ),
    responses={200: SessionPage},
)
async def list_sessions(request: Request) -> JSONResponse:
    """List sessions (upcoming only unless ?all=1), with their room and venue names; with
    `from` and `to` (ISO 8601 times with an offset, at most 93 days apart), only those
    starting in that window (a day or a month of the cash desk's calendar)."""
    upcoming = request.query_params.get("all") != "1"
    window = starts_window(request)
    rows = await _state(request).catalog.list_sessions(upcoming, (pg := page(request)), window)
    return JSONResponse(pg.body("sessions", rows))


@OPERATIONS.get(
    "/api/sessions/{session_id:int}",
    tags=CATALOGUE,
    permission=PUBLIC,
    responses={200: SessionDetail},
)
async def get_session(request: Request) -> JSONResponse:
    """One session with its tariffs and contingents."""
    return JSONResponse(
        await _state(request).catalog.session_detail(path_id(request, "session_id"))
    )


@OPERATIONS.get(
    "/api/sessions/{session_id:int}/seat-map",
    tags=CATALOGUE,
    permission=PUBLIC,
    responses={200: SeatMap},
)
async def get_seat_map(request: Request) -> Response:
    """The session's seats in wire order: [id, label, row, zone, category, x, y, accessible].

    Built once per plan, sent gzipped to clients that accept it, with a strong `ETag`
    (`If-None-Match` answers 304). Live states come over the WebSocket channel
    `seats:<session_id>`."""
    body = await _state(request).catalog.seat_map(path_id(request, "session_id"))
    headers = {"Cache-Control": "max-age=60", "ETag": body.etag, "Vary": "Accept-Encoding"}
    if body.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(body.gzipped, headers=headers, media_type="application/json")
    return Response(body.raw, headers=headers, media_type="application/json")


@OPERATIONS.get(
    "/api/sessions/{session_id:int}/fill", tags=CATALOGUE, permission=PUBLIC, responses={200: Fill}
)
async def get_fill(request: Request) -> JSONResponse:
    """The session's fill gauge: capacity, sold, held, free (also pushed on `gauge:<id>`)."""
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


@OPERATIONS.post(
    "/api/venues", tags=ADMIN_TAG, permission=MANAGE, body=NameIn, responses={201: Venue}
)
async def create_venue(request: Request) -> JSONResponse:
    """Create a venue."""
    body = await json_body(request)
    venue = await _state(request).catalog.create_venue(field(body, "name", str), actor_of(request))
    return JSONResponse(venue, 201)


@OPERATIONS.get(
    "/api/venues", tags=CATALOGUE, permission=PUBLIC, params=PAGE, responses={200: VenuePage}
)
async def list_venues(request: Request) -> JSONResponse:
    """Venues and their rooms."""
    pg = page(request)
    return JSONResponse(pg.body("venues", await _state(request).catalog.list_venues(pg)))


@OPERATIONS.post(
    "/api/venues/{venue_id:int}/rooms",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=NameIn,
    responses={201: Room},
)
async def create_room(request: Request) -> JSONResponse:
    """Create a room in a venue."""
    body = await json_body(request)
    room = await _state(request).catalog.create_room(
        path_id(request, "venue_id"), field(body, "name", str), actor_of(request)
    )
    return JSONResponse(room, 201)


@OPERATIONS.put(
    "/api/rooms/{room_id:int}/seat-plan",
    tags=ADMIN_TAG,
    permission=MANAGE,
    params=(PLAN_FORMAT,),
    body=SeatPlanDocument,
    responses={201: PlanImported},
    errors={400: PLAN_ERRORS, 409: ("plan_drops_sold_seats",)},
)
async def import_plan(request: Request) -> JSONResponse:
    """Import a seat plan as the room's new plan version.

    The format is `guichet.seatplan/1`, or pretix's seating-plan JSON
    (docs/seatplan-format.md); a refused plan's error has its JSON `path`. The room's
    sessions that have not ended move onto the new plan (tickets follow their seat ids;
    current holds of those sessions are dropped and their seat maps resync under a new
    epoch). Refused (409 `plan_drops_sold_seats`, with the seats) if it removes a sold
    seat."""
    body = await json_body(request, limit=MAX_PLAN_BODY)
    state = _state(request)
    room_id = path_id(request, "room_id")
    parsed, fmt = read_plan(body, plan_format(request))
    plan = await state.catalog.import_plan(room_id, parsed, actor_of(request), fmt)
    await failpoint("catalog.plan_after_commit")
    for session_id, entry in zip(plan["moved_sessions"], plan.pop("outbox"), strict=True):
        await state.outbox.apply_now(entry, session_id, Op.RELOAD)
    return JSONResponse(plan, 201)


@OPERATIONS.get(
    "/api/seat-plans/{plan_id:int}",
    tags=CATALOGUE,
    permission=PUBLIC,
    responses={200: SeatPlanDocument},
)
async def export_plan(request: Request) -> JSONResponse:
    """Export a seat plan in the import format."""
    return JSONResponse(await _state(request).catalog.export_plan(path_id(request, "plan_id")))


@OPERATIONS.post(
    "/api/sessions",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=NewSession,
    responses={201: SessionDetail},
    errors={
        400: (
            "room_has_no_plan",
            "capacity_required",
            "unknown_seats",
            "seat_in_two_contingents",
            "not_seated",
            "unknown_category",
        ),
        404: ("not_found",),
    },
)
async def create_session(request: Request) -> JSONResponse:
    """Create a session of an event in a room; 404 when the room does not exist."""
    body = await json_body(request)
    starts, ends = session_time(body, "starts_at"), session_time(body, "ends_at")
    if ends <= starts:
        raise Invalid("invalid_field", "'ends_at' must be after 'starts_at'", field="ends_at")
    clean: dict[str, Any] = {
        "room_id": id_field(body, "room_id"),
        "event_name": field(body, "event_name", str),
        "starts_at": starts,
        "ends_at": ends,
        "seated": field(body, "seated", bool),
        "capacity": field(body, "capacity", int, None, minimum=0),
        "sales_open": field(body, "sales_open", bool, True),
        "sell_online_after_start": field(body, "sell_online_after_start", bool, False),
        "tariffs": [tariff_body(t) for t in _objects(body, "tariffs")],
        "contingents": _contingents(body),
        "blocked_seats": string_list(body, "blocked_seats"),
    }
    detail = await _state(request).catalog.create_session(clean, actor_of(request))
    return JSONResponse(detail, 201)


def _contingents(body: dict[str, Any]) -> list[dict[str, Any]]:
    contingents: list[dict[str, Any]] = [
        {
            "name": field(c, "name", str),
            "capacity": field(c, "capacity", int, minimum=0),
            "seat_ids": string_list(c, "seat_ids"),
        }
        for c in _objects(body, "contingents")
    ]
    if sum(c["capacity"] for c in contingents) > INT_MAX:
        raise Invalid(
            "invalid_field", f"the contingents add up to more than {INT_MAX}", field="contingents"
        )
    return contingents


@OPERATIONS.put(
    "/api/sessions/{session_id:int}/contingents",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=ContingentsIn,
    responses={200: SessionDetail},
    errors={
        400: ("unknown_seats", "seat_in_two_contingents"),
        409: ("capacity_below_sold",),
    },
)
async def set_contingents(request: Request) -> JSONResponse:
    """Replace a session's contingents (the "Contingents" tab).

    Seated: named groups of the plan's seats, a seat in one group at most (400
    `seat_in_two_contingents`), each group's capacity its seat count. General admission:
    the session's capacity becomes their sum (409 `capacity_below_sold` below what is sold),
    pushed to the live gauge; current holds stay. An empty list removes them all (a
    general-admission session then keeps its capacity)."""
    state = _state(request)
    session_id = path_id(request, "session_id")
    contingents = _contingents(await json_body(request))
    detail, entry = await state.catalog.set_contingents(session_id, contingents, actor_of(request))
    if entry is not None:
        capacity = {"capacity": detail["capacity"]}
        await state.outbox.apply_now(entry, session_id, Op.CAPACITY, capacity)
    return JSONResponse(detail)


def session_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a ``SessionPatch`` that were sent."""
    changes: dict[str, Any] = {}
    for name, kind in (
        ("sales_open", bool),
        ("sell_online_after_start", bool),
        ("event_name", str),
    ):
        if body.get(name) is not None:
            changes[name] = field(body, name, kind)
    for name in ("starts_at", "ends_at"):
        if body.get(name) is not None:
            changes[name] = session_time(body, name)
    if body.get("capacity") is not None:
        changes["capacity"] = field(body, "capacity", int, minimum=0)
    return changes


@OPERATIONS.patch(
    "/api/sessions/{session_id:int}",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=SessionPatch,
    responses={200: Session},
    errors={400: ("capacity_seated",), 409: ("capacity_below_sold",)},
)
async def update_session(request: Request) -> JSONResponse:
    """Change a session: open or close sales, rename it, move it in time, or change the
    capacity of a general-admission session.

    A capacity below the places sold is 409 `capacity_below_sold`; a seated session's
    capacity is its plan's (400 `capacity_seated`). A new capacity reaches the live gauge
    at once; the session's current holds stay."""
    state = _state(request)
    session_id = path_id(request, "session_id")
    changes = session_changes(await json_body(request))
    session, entry = await state.catalog.update_session(session_id, changes, actor_of(request))
    if entry is not None:
        await failpoint("catalog.capacity_after_commit")
        capacity = {"capacity": session.capacity}
        await state.outbox.apply_now(entry, session_id, Op.CAPACITY, capacity)
    if "ends_at" in changes:
        await state.live.retire_after(session_id, int(session.ends_at.timestamp() * 1000))
    return JSONResponse(session.to_json())


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/tariffs",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=TariffIn,
    responses={201: Tariff},
    errors={400: ("unknown_category",)},
)
async def add_tariff(request: Request) -> JSONResponse:
    """Add a tariff to a session; its categories must be categories of the session's plan
    (400 `unknown_category`; a general-admission session has none)."""
    body = tariff_body(await json_body(request))
    tariff = await _state(request).catalog.add_tariff(
        path_id(request, "session_id"), body, actor_of(request)
    )
    return JSONResponse(tariff, 201)


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/blocked-seats",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=BlockSeats,
    responses={200: Seq},
    errors={400: ("unknown_seats", "not_seated"), 409: ("seats_taken",)},
)
async def set_blocked(request: Request) -> JSONResponse:
    """Block (make unavailable) or unblock seats of a session.

    Blocking a held or sold seat is refused with 409 `seats_taken` and the seats."""
    state = _state(request)
    session_id = path_id(request, "session_id")
    body = await json_body(request)
    blocked = field(body, "blocked", bool)
    session = await state.catalog.session(session_id)
    seat_ids = string_list(body, "seats")
    indices = await state.catalog.seat_indices(session, seat_ids)
    async with connection(state.catalog.pool) as conn, conn.transaction():
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
        action = "seats.block" if blocked else "seats.unblock"
        await audit(conn, actor_of(request), action, f"session:{session_id}", seats=seat_ids)
        try:
            seq = await state.live.block(session_id, indices, blocked, outbox_id=entry)
        except HoldRefused as exc:
            taken = [seat_ids[indices.index(i)] for i in exc.seats]
            raise Conflict("seats_taken", "some seats are held or sold", seats=taken) from exc
    state.outbox.done(entry)
    return JSONResponse({"seq": seq})
