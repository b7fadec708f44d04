"""HTTP handlers of passes (abonnements): creation, search, reading, the signed code, and
booking a session on a pass at the desk (by its id or its scanned code)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from msgspec import Meta
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from scanning.qr import qr_png, qr_svg, ticket_pdf
from server.door import schemas
from server.door.pass_booking import PassBookings
from server.door.passes import PassQuery, PassService, PassSpec, check_photo
from server.door.schemas import CODE, Pass, PassIn
from server.identity.actors import actor_of
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.platform.errors import Invalid
from server.web.api import PAGE, Id, Operations, Param
from server.web.requests import (
    ID_MAX,
    body_as,
    field,
    json_body,
    page,
    path_id,
    query_id,
    timestamp,
)

OPERATIONS = Operations()
PASSES = ("passes",)

MAX_NAME = 200
MAX_SESSIONS_LISTED = 1000
MAX_QUERY = 100
STATUSES = ("active", "refunded", "cancelled")
BOOKING_REFUSALS = ("pass_not_active", "pass_not_valid_for_session", "session_full", "session_over")
_TIME_MAX = datetime.fromtimestamp((1 << 32) - 1, UTC)  # codes carry uint32 unix seconds


def _passes(request: Request) -> PassService:
    return PassService(request.app.state.pool, request.app.state.keys)


def _bookings(request: Request) -> PassBookings:
    bookings: PassBookings = request.app.state.pass_bookings
    return bookings


def pass_spec(body: dict[str, Any]) -> PassSpec:
    name = field(body, "holder_name", str).strip()
    if len(name) > MAX_NAME:
        raise Invalid("invalid_field", f"'holder_name' is at most {MAX_NAME} characters")
    valid_from = timestamp(body, "valid_from")
    valid_until = timestamp(body, "valid_until")
    if valid_until <= valid_from:
        raise Invalid("invalid_field", "'valid_until' must be after 'valid_from'")
    if valid_from.timestamp() < 0 or valid_until > _TIME_MAX:
        raise Invalid("invalid_field", "the validity window is out of range")
    all_sessions = field(body, "all_sessions", bool, False)
    raw_ids = body.get("session_ids") or []
    if (
        not isinstance(raw_ids, list)
        or len(raw_ids) > MAX_SESSIONS_LISTED
        or not all(
            isinstance(i, int) and not isinstance(i, bool) and 0 < i <= ID_MAX for i in raw_ids
        )
    ):
        raise Invalid(
            "invalid_field", "'session_ids' is a list of session ids", field="session_ids"
        )
    if all_sessions == bool(raw_ids):
        raise Invalid(
            "invalid_field",
            "give either 'session_ids' or 'all_sessions': true",
            field="session_ids",
        )
    return PassSpec(
        holder_name=name,
        photo=check_photo(body.get("photo")),
        valid_from=valid_from,
        valid_until=valid_until,
        all_sessions=all_sessions,
        session_ids=tuple(sorted(set(raw_ids))),
        max_sessions=field(body, "max_sessions", int, None, minimum=1),
    )


@OPERATIONS.post(
    "/api/passes",
    tags=PASSES,
    permission=Permission.SELL,
    body=PassIn,
    responses={201: Pass},
    errors={400: ("photo_too_large", "unknown_sessions")},
)
async def create_pass(request: Request) -> JSONResponse:
    """Create a pass (abonnement).

    A holder with a photo, a validity window, the sessions it may attend (`session_ids`, or
    `all_sessions: true` for every session starting within the window) and optionally
    `max_sessions`. The pass books a session when it is scanned at its door. `photo` is a
    data URL (`data:image/png|jpeg|webp|gif;base64,...`, at most 64 KiB) or an `https://`
    URL."""
    principal: Principal = request.state.principal
    spec = pass_spec(await json_body(request))
    return JSONResponse(await _passes(request).create(spec, principal.user_id), 201)


@OPERATIONS.get(
    "/api/passes/{pass_id:int}",
    tags=PASSES,
    permission=(Permission.SELL, Permission.DOOR_SCAN),
    responses={200: Pass},
)
async def get_pass(request: Request) -> JSONResponse:
    """A pass with its bookings (session, seat, and when and where it entered)."""
    return JSONResponse(await _passes(request).get(path_id(request, "pass_id")))


@OPERATIONS.get(
    "/api/passes/{pass_id:int}/code",
    tags=PASSES,
    permission=Permission.SELL,
    params=(Param("format", Literal["text", "svg", "png", "pdf"], description="`text`"),),
    responses={200: CODE},
    errors={400: ("invalid_format",), 409: ("pass_not_active",)},
)
async def pass_code(request: Request) -> Response:
    """The pass's signed code.

    Scope `pass`, the pass's validity window; as `text`, a QR code (`svg`, `png`) or a
    printable `pdf`. 409 `pass_not_active` when it was refunded or cancelled."""
    fmt = request.query_params.get("format", "text")
    if fmt not in ("text", "svg", "png", "pdf"):
        raise Invalid("invalid_format", "format is text, svg, png or pdf")
    code, info = await _passes(request).code(path_id(request, "pass_id"))
    if fmt == "svg":
        return Response(await asyncio.to_thread(qr_svg, code), media_type="image/svg+xml")
    if fmt == "png":
        return Response(await asyncio.to_thread(qr_png, code), media_type="image/png")
    if fmt == "pdf":
        pdf = await asyncio.to_thread(
            ticket_pdf,
            code=code,
            event=f"Pass {info['id']}",
            session_start=f"{info['valid_from'][:10]} - {info['valid_until'][:10]}",
            room="All sessions" if info["all_sessions"] else "Listed sessions",
            seat=None,
            tariff="Pass",
            holder=info["holder"]["name"],
        )
        return Response(pdf, media_type="application/pdf")
    return PlainTextResponse(code)


@OPERATIONS.get(
    "/api/passes",
    tags=PASSES,
    permission=(Permission.SELL, Permission.DOOR_SCAN),
    params=(
        Param(
            "q",
            Annotated[str, Meta(max_length=MAX_QUERY)],
            description="words of the holder's names (all must match), or the pass id",
        ),
        Param("status", Literal["active", "refunded", "cancelled"]),
        Param("pass_type_id", Id),
        *PAGE,
    ),
    responses={200: schemas.PassSearch},
)
async def search_passes(request: Request) -> JSONResponse:
    """Find passes by the holder's name or first name (every word given, any case), by id,
    by status and by type; newest first, without photos."""
    q = request.query_params.get("q", "")
    if len(q) > MAX_QUERY or "\x00" in q:
        raise Invalid("invalid_field", f"'q' is at most {MAX_QUERY} characters", field="q")
    status = request.query_params.get("status") or None
    if status is not None and status not in STATUSES:
        raise Invalid("invalid_field", "'status' is active, refunded or cancelled", field="status")
    p = page(request)
    query = PassQuery(
        q, status, query_id(request, "pass_type_id", required=False), p.limit + 1, p.offset
    )
    return JSONResponse(p.body("passes", await _passes(request).search(query)))


@OPERATIONS.post(
    "/api/passes/{pass_id:int}/bookings",
    tags=PASSES,
    permission=Permission.SELL,
    body=schemas.BookingIn,
    responses={201: schemas.PassBooking, 200: schemas.PassBooking},
    errors={409: BOOKING_REFUSALS},
)
async def book_on_pass(request: Request) -> JSONResponse:
    """Book a session on the pass (a seat of the session's `pass` contingent first, else
    any free seat, or a general-admission place), without admitting anyone: the door
    admits the pass when it is scanned. A booking the pass already has for the session is
    answered again (200). 409 `pass_not_active`, `pass_not_valid_for_session` (not among
    its sessions, or its `max_sessions` are booked), `session_full`, `session_over`."""
    body = await body_as(request, schemas.BookingIn)
    pass_id = path_id(request, "pass_id")
    booking, made = await _bookings(request).book(pass_id, body.session_id, actor_of(request))
    reply = {"pass_id": pass_id, "created": made, "booking": booking}
    return JSONResponse(reply, status_code=201 if made else 200)


@OPERATIONS.post(
    "/api/pass-bookings",
    tags=PASSES,
    permission=Permission.SELL,
    body=schemas.CodeBookingIn,
    responses={201: schemas.PassBooking, 200: schemas.PassBooking},
    errors={400: ("invalid_code",), 409: ("revoked", *BOOKING_REFUSALS)},
)
async def book_by_code(request: Request) -> JSONResponse:
    """Book a session on the pass whose code was scanned (checked with the door's keys:
    400 `invalid_code` for a forged or unreadable code or a ticket's, 409 `revoked` for
    a code the pass no longer has); otherwise as `POST /api/passes/{id}/bookings`."""
    body = await body_as(request, schemas.CodeBookingIn)
    bookings = _bookings(request)
    pass_id = await bookings.pass_of_code(body.code)
    booking, made = await bookings.book(pass_id, body.session_id, actor_of(request))
    reply = {"pass_id": pass_id, "created": made, "booking": booking}
    return JSONResponse(reply, status_code=201 if made else 200)
