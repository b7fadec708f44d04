"""HTTP handlers of the door: ticket codes, refunds, scans, offline uploads, counters."""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from msgspec import Meta
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from scanning.qr import qr_png, qr_svg, ticket_pdf
from server.door.keys import MAX_KEY_ID, list_keys, retire_key, rotate_key
from server.door.release import DEFAULT_MINUTES, ReservationRelease
from server.door.requests import MAX_BATCH, device_of, scan_request
from server.door.schemas import (
    CODE,
    BatchIn,
    BatchResult,
    ConflictPage,
    DoorBundle,
    DoorCounters,
    DoorSettings,
    DoorSettingsIn,
    KeyRetired,
    KeyRotated,
    Minutes,
    Refunded,
    ReleaseUnscannedIn,
    Reservations,
    ReservationsReleased,
    ScanIn,
    ScanResult,
    SigningKeys,
    TicketCodeInfo,
)
from server.door.service import DoorService
from server.identity.actors import actor_of
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.platform.errors import Invalid
from server.web.api import PAGE, PUBLIC, Id, Operations, Param
from server.web.requests import field, json_body, page, path_id, query_id

SCAN = Permission.DOOR_SCAN
OPERATIONS = Operations()
DOOR = ("door",)
KEYS = Permission.KEYS_MANAGE
FORMAT = Literal["text", "svg", "png", "pdf", "json"]


def _door(request: Request) -> DoorService:
    service: DoorService = request.app.state.door
    return service


@OPERATIONS.get(
    "/api/tickets/{ticket_id:int}/code",
    tags=DOOR,
    permission=PUBLIC,
    token_optional=True,
    params=(
        Param("format", FORMAT, description="`text` by default; `json`: code and ticket"),
        Param("hold_token", str, description="the order's hold token (buyers)"),
    ),
    responses={200: {**CODE, "application/json": TicketCodeInfo}},
    errors={400: ("invalid_format",), 409: ("ticket_not_active",)},
)
async def ticket_code(request: Request) -> Response:
    """A ticket's signed code, as `text`, `svg`, `png` or a printable `pdf`.

    A caller with the `sell` permission may fetch any ticket; anyone else passes the
    order's `hold_token` (404 when there is no such ticket, or it is not theirs): a rule of
    this public route. 409 `ticket_not_active` when it was refunded or cancelled."""
    principal: Principal = request.state.principal
    staff = principal.can(Permission.SELL)
    fmt = request.query_params.get("format", "text")
    if fmt not in ("text", "svg", "png", "pdf", "json"):
        raise Invalid("invalid_format", "format is text, svg, png or pdf")
    info = await _door(request).code(
        path_id(request, "ticket_id"), request.query_params.get("hold_token"), staff
    )
    code: str = info["code"]
    if fmt == "svg":
        return Response(await asyncio.to_thread(qr_svg, code), media_type="image/svg+xml")
    if fmt == "png":
        return Response(await asyncio.to_thread(qr_png, code), media_type="image/png")
    if fmt == "pdf":
        ticket = info["ticket"]
        pdf = await asyncio.to_thread(
            ticket_pdf,
            code=code,
            event=info["event_name"],
            session_start=info["starts_at"][:16].replace("T", " "),
            room=info["room"],
            seat=ticket["seat"],
            row=ticket["row"],
            tariff=ticket["tariff"] or "",
            holder=info["holder"],
        )
        return Response(pdf, media_type="application/pdf")
    if fmt == "json":
        return JSONResponse(info)
    return PlainTextResponse(code)


@OPERATIONS.post(
    "/api/tickets/{ticket_id:int}/refund",
    tags=DOOR,
    permission=(Permission.REFUND_ANY, Permission.REFUND_OWN_REGISTER),
    responses={200: Refunded},
    errors={403: ("not_own_sale",), 409: ("ticket_not_active", "journalled_sale")},
)
async def refund(request: Request) -> JSONResponse:
    """Refund a ticket: its code is revoked at every door and its seat is freed live.

    With `refund.any`, any ticket; with `refund.own_register` only, a ticket of an order
    the caller booked: 403 `not_own_sale` otherwise. A ticket sold at a register is
    refunded through its journal entry (`POST /api/journal/{id}/refund`): 409
    `journalled_sale` with its `journal_id`. A ticket of a paid e-shop order gives its
    price back to the buyer's payment, through the provider, once."""
    principal: Principal = request.state.principal
    sold_by = None if principal.can(Permission.REFUND_ANY) else principal.user_id
    ticket_id = path_id(request, "ticket_id")
    return JSONResponse(await _door(request).refund(ticket_id, sold_by, actor_of(request)))


@OPERATIONS.post(
    "/api/scan",
    tags=DOOR,
    permission=SCAN,
    body=ScanIn,
    responses={200: ScanResult},
    errors={422: ("nonce_mismatch",)},
)
async def scan(request: Request) -> JSONResponse:
    """Scan a code at a door. Same (device, nonce) again returns the first result.

    The result is `valid` or `refused` with a reason; a pass (which books the session)
    also gives `pass_id` and its `holder`. A nonce reused for another scan is 422."""
    principal: Principal = request.state.principal
    body = await json_body(request)
    device = device_of(principal, field(body, "device", str, None))
    return JSONResponse(await _door(request).scan(device, scan_request(body)))


@OPERATIONS.post(
    "/api/scan/batch",
    tags=DOOR,
    permission=SCAN,
    body=BatchIn,
    responses={200: BatchResult},
    errors={400: ("batch_too_large",)},
)
async def scan_batch(request: Request) -> JSONResponse:
    """Upload scans made offline.

    Idempotent per (device, nonce); first scan wins by scan time; conflicts (a ticket
    admitted twice) are listed for the organiser."""
    principal: Principal = request.state.principal
    body = await json_body(request)
    device = device_of(principal, field(body, "device", str))
    raw = body.get("scans")
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise Invalid("invalid_field", "'scans' is a list of objects", field="scans")
    if len(raw) > MAX_BATCH:
        raise Invalid("batch_too_large", f"at most {MAX_BATCH} scans per upload")
    scans = [scan_request(s, require_time=True) for s in raw]
    return JSONResponse(await _door(request).upload(device, scans))


@OPERATIONS.get(
    "/api/door/keys",
    tags=DOOR,
    permission=SCAN,
    params=(Param("session_id", Id, required=True),),
    responses={200: DoorBundle},
    errors={404: ("not_found",)},
)
async def door_keys(request: Request) -> JSONResponse:
    """What an offline scanner needs for `session_id`.

    Public keys (hex, by key id), revoked codes (`<ticket id>:<seed hex>`), the tickets
    already entered, and the passes that may be scanned there (`passes`: id, holder_name,
    allowed, status, ticket_id, seed)."""
    session_id = query_id(request, "session_id")
    assert session_id is not None
    return JSONResponse(await _door(request).bundle(session_id))


@OPERATIONS.get(
    "/api/door/conflicts",
    tags=DOOR,
    permission=Permission.DOOR_MANAGE,
    params=(Param("session_id", Id), *PAGE),
    responses={200: ConflictPage},
)
async def conflicts(request: Request) -> JSONResponse:
    """Tickets admitted twice (found when offline scans were uploaded), both scans each."""
    session_id = query_id(request, "session_id", required=False)
    pg = page(request)
    return JSONResponse(pg.body("conflicts", await _door(request).conflicts(session_id, pg)))


@OPERATIONS.get(
    "/api/sessions/{session_id:int}/entries",
    tags=DOOR,
    permission=(Permission.DOOR_SCAN, Permission.STATS_READ),
    responses={200: DoorCounters},
)
async def entries(request: Request) -> JSONResponse:
    """Door counters of a session: entered, inside, refused by reason, per door, rates."""
    session_id = path_id(request, "session_id")
    await request.app.state.catalog.session(session_id)
    return JSONResponse(await request.app.state.door_live.counters(session_id))


@OPERATIONS.put(
    "/api/sessions/{session_id:int}/door-settings",
    tags=DOOR,
    permission=Permission.DOOR_MANAGE,
    body=DoorSettingsIn,
    responses={200: DoorSettings},
)
@OPERATIONS.get(
    "/api/sessions/{session_id:int}/door-settings",
    tags=DOOR,
    permission=SCAN,
    responses={200: DoorSettings},
)
async def door_settings(request: Request) -> JSONResponse:
    """A session's door settings (GET: `door.scan`; PUT: `door.manage`).

    `reentry_allowed` (default false): a ticket scanned out (`mode: exit`) may come back
    in; otherwise its next entry scan is refused `no_reentry`."""
    session_id = path_id(request, "session_id")
    if request.method == "GET":
        return JSONResponse(await _door(request).settings(session_id, None))
    body = await json_body(request)
    reentry = field(body, "reentry_allowed", bool)
    return JSONResponse(await _door(request).settings(session_id, reentry, actor_of(request)))


def _release(request: Request) -> ReservationRelease:
    state = request.app.state
    return ReservationRelease(state.pool, state.door_live, state.outbox)


def _minutes(raw: object) -> int:
    if raw is None:
        return DEFAULT_MINUTES
    if isinstance(raw, str) and raw.isascii() and raw.isdigit() and len(raw) <= 6:
        raw = int(raw)
    if not isinstance(raw, int) or isinstance(raw, bool) or not 0 <= raw <= 100_000:
        raise Invalid(
            "invalid_field",
            "'older_than_minutes' is a number of minutes",
            field="older_than_minutes",
        )
    return raw


@OPERATIONS.get(
    "/api/sessions/{session_id:int}/unscanned-reservations",
    tags=DOOR,
    permission=Permission.DOOR_RELEASE,
    params=(Param("older_than_minutes", Minutes, description="15 by default"),),
    responses={200: Reservations},
)
async def unscanned_reservations(request: Request) -> JSONResponse:
    """Preview of "release unscanned reservations".

    The reservations of the session (orders booked as reservations, tickets booked on a
    pass) made more than `older_than_minutes` (default 15) ago and never admitted at a
    door. Tickets sold as such are never counted."""
    minutes = _minutes(request.query_params.get("older_than_minutes"))
    session_id = path_id(request, "session_id")
    return JSONResponse(await _release(request).preview(session_id, minutes))


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/release-unscanned",
    tags=DOOR,
    permission=Permission.DOOR_RELEASE,
    body=ReleaseUnscannedIn,
    responses={200: ReservationsReleased},
    errors={409: ("count_changed",)},
)
async def release_unscanned(request: Request) -> JSONResponse:
    """Release the unscanned reservations of the preview, in one transaction.

    Their tickets are cancelled, their codes revoked, their seats and places freed live.
    `expected_count` is the previewed count: if it changed meanwhile nothing is released
    (409 `count_changed`, with the current count: preview again)."""
    body = await json_body(request)
    minutes = _minutes(body.get("older_than_minutes"))
    expected = field(body, "expected_count", int, minimum=0)
    session_id = path_id(request, "session_id")
    released = await _release(request).release(session_id, minutes, expected, actor_of(request))
    return JSONResponse(released)


@OPERATIONS.get("/api/door/signing-keys", tags=DOOR, permission=KEYS, responses={200: SigningKeys})
async def signing_keys(request: Request) -> JSONResponse:
    """The ticket-signing keys: id, state, active, retired.

    Private keys never leave the server; scanners get the public keys from
    `/api/door/keys`."""
    return JSONResponse({"keys": await list_keys(request.app.state.pool)})


@OPERATIONS.post(
    "/api/door/signing-keys/rotate",
    tags=DOOR,
    permission=KEYS,
    responses={201: KeyRotated},
    errors={409: ("key_ids_exhausted",)},
)
async def rotate_signing_key(request: Request) -> JSONResponse:
    """Start signing new codes with a fresh key, after a standby.

    Codes signed by older keys stay valid until those keys are retired."""
    keys = request.app.state.keys
    result = await rotate_key(request.app.state.pool, 2 * keys.reload_s, actor_of(request))
    request.app.state.keys.forget()
    return JSONResponse(result, 201)


@OPERATIONS.post(
    "/api/door/signing-keys/{key_id:int}/retire",
    tags=DOOR,
    permission=KEYS,
    params=(Param("key_id", Annotated[int, Meta(ge=0, le=MAX_KEY_ID)], "path", required=True),),
    responses={200: KeyRetired},
    errors={400: ("invalid_id",), 409: ("key_active",)},
)
async def retire_signing_key(request: Request) -> JSONResponse:
    """Retire a key that no longer signs: codes it signed are refused as `forged`.

    409 `key_active` for the signing key or one on standby: rotate first."""
    key_id = path_id(request, "key_id", minimum=0, maximum=MAX_KEY_ID)
    result = await retire_key(request.app.state.pool, key_id, actor_of(request))
    request.app.state.keys.forget()
    return JSONResponse(result)
