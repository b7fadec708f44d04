"""HTTP handlers of the door: ticket codes, refunds, scans, offline uploads, counters."""

from __future__ import annotations

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from scanning.qr import qr_png, qr_svg, ticket_pdf
from server.door.keys import list_keys, retire_key, rotate_key
from server.door.release import DEFAULT_MINUTES, ReservationRelease
from server.door.requests import MAX_BATCH, device_of, scan_request
from server.door.service import DoorService
from server.identity.auth import Principal, require
from server.identity.roles import Role
from server.platform.errors import Invalid
from server.web.requests import field, json_body, page, path_id, query_id

SCANNER_ROLES = (Role.ENTRY_CHECK,)


def _door(request: Request) -> DoorService:
    service: DoorService = request.app.state.door
    return service


async def ticket_code(request: Request) -> Response:
    """A ticket's signed code, as `text`, `svg`, `png` or a printable `pdf`. Staff (admin,
    pos) may fetch any ticket; a buyer passes the order's `hold_token`.
    ---
    tags: [door]
    parameters:
      - {name: format, in: query, schema: {type: string, enum: [text, svg, png, pdf]}}
      - {name: hold_token, in: query, schema: {type: string}}
    responses:
      200: {description: the code}
      404: {description: "no such ticket, or not yours"}
      409: {description: "ticket_not_active (refunded or cancelled)"}
    """
    principal: Principal = request.state.principal
    staff = principal.has(Role.POS)
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


async def refund(request: Request) -> JSONResponse:
    """Refund a ticket: its code is revoked at every door and its seat is freed live.
    ---
    tags: [door]
    responses:
      200: {description: "id, status, revoked (the code_ref)"}
      409: {description: ticket_not_active}
    """
    require(request.state.principal, Role.REFUND)
    return JSONResponse(await _door(request).refund(path_id(request, "ticket_id")))


async def scan(request: Request) -> JSONResponse:
    """Scan a code at a door. Same (device, nonce) again returns the first result.
    ---
    tags: [door]
    requestBody:
      content:
        application/json:
          example: {code: "GQ...", nonce: "a1b2c3d4e5", door: "north", session_id: 12}
    responses:
      200: {description: "result valid|refused, reason, ticket, entered_at/entered_door;
        for a pass (which books the session): pass_id and holder {name, photo}"}
    """
    principal = require(request.state.principal, *SCANNER_ROLES)
    body = await json_body(request)
    device = device_of(principal, field(body, "device", str, None))
    return JSONResponse(await _door(request).scan(device, scan_request(body)))


async def scan_batch(request: Request) -> JSONResponse:
    """Upload scans made offline. Idempotent per (device, nonce); first scan wins by scan
    time; conflicts (a ticket admitted twice) are listed for the organiser.
    ---
    tags: [door]
    requestBody:
      content:
        application/json:
          example: {device: "tablet-1", scans: [{code: "GQ...", nonce: "n1aaaaaa",
                    door: "north", scanned_at: "2030-01-01T19:02:03+00:00"}]}
    responses:
      200: {description: "accepted, replayed, valid, conflicts, results[]"}
    """
    principal = require(request.state.principal, *SCANNER_ROLES)
    body = await json_body(request)
    device = device_of(principal, field(body, "device", str))
    raw = body.get("scans")
    if not isinstance(raw, list) or not all(isinstance(s, dict) for s in raw):
        raise Invalid("invalid_field", "'scans' is a list of objects", field="scans")
    if len(raw) > MAX_BATCH:
        raise Invalid("batch_too_large", f"at most {MAX_BATCH} scans per upload")
    scans = [scan_request(s, require_time=True) for s in raw]
    return JSONResponse(await _door(request).upload(device, scans))


async def door_keys(request: Request) -> JSONResponse:
    """What an offline scanner needs for `session_id`: public keys (hex, by key id), revoked
    codes (`<ticket id>:<seed hex>`), the tickets already entered, and the passes that may
    be scanned there (`passes`: id, holder_name, allowed, status, ticket_id, seed).
    ---
    tags: [door]
    """
    require(request.state.principal, *SCANNER_ROLES)
    session_id = query_id(request, "session_id")
    assert session_id is not None
    return JSONResponse(await _door(request).bundle(session_id))


async def conflicts(request: Request) -> JSONResponse:
    """Tickets admitted twice (found when offline scans were uploaded), both scans each.
    ---
    tags: [door]
    """
    require(request.state.principal, Role.ADMIN)
    session_id = query_id(request, "session_id", required=False)
    pg = page(request)
    return JSONResponse(pg.body("conflicts", await _door(request).conflicts(session_id, pg)))


async def entries(request: Request) -> JSONResponse:
    """Door counters of a session: entered, inside, refused by reason, per door, rates.
    ---
    tags: [door]
    """
    require(request.state.principal, Role.ENTRY_CHECK, Role.STATS)
    session_id = path_id(request, "session_id")
    await request.app.state.catalog.session(session_id)
    return JSONResponse(await request.app.state.door_live.counters(session_id))


async def door_settings(request: Request) -> JSONResponse:
    """A session's door settings. `reentry_allowed` (default false): a ticket scanned out
    (`mode: exit`) may come back in; otherwise its next entry scan is refused `no_reentry`.
    GET: entry_check or admin; PUT: admin.
    ---
    tags: [door]
    requestBody: {content: {application/json: {example: {reentry_allowed: true}}}}
    responses:
      200: {description: "session_id, reentry_allowed"}
      404: {description: no such session}
    """
    session_id = path_id(request, "session_id")
    if request.method == "GET":
        require(request.state.principal, Role.ENTRY_CHECK, Role.ADMIN)
        return JSONResponse(await _door(request).settings(session_id, None))
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    reentry = field(body, "reentry_allowed", bool)
    return JSONResponse(await _door(request).settings(session_id, reentry))


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


async def unscanned_reservations(request: Request) -> JSONResponse:
    """Preview of "release unscanned reservations": the reservations of the session (orders
    booked as reservations, tickets booked on a pass) made more than `older_than_minutes`
    (default 15) ago and never admitted at a door. Tickets sold as such are never counted.
    ---
    tags: [door]
    parameters:
      - {name: older_than_minutes, in: query, schema: {type: integer, default: 15}}
    responses:
      200: {description: "count, seats (seat ids), places (general admission), ticket_ids"}
      404: {description: no such session}
    """
    require(request.state.principal, Role.ADMIN)
    minutes = _minutes(request.query_params.get("older_than_minutes"))
    session_id = path_id(request, "session_id")
    return JSONResponse(await _release(request).preview(session_id, minutes))


async def release_unscanned(request: Request) -> JSONResponse:
    """Release the unscanned reservations of the preview, in one transaction: their tickets
    are cancelled, their codes revoked, their seats and places freed live. `expected_count`
    is the previewed count: if it changed meanwhile nothing is released (409).
    ---
    tags: [door]
    requestBody:
      content:
        application/json:
          example: {older_than_minutes: 15, expected_count: 12}
    responses:
      200: {description: "count, seats, places, ticket_ids of what was released"}
      409: {description: "count_changed (with the current count): preview again"}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    minutes = _minutes(body.get("older_than_minutes"))
    expected = field(body, "expected_count", int, minimum=0)
    session_id = path_id(request, "session_id")
    return JSONResponse(await _release(request).release(session_id, minutes, expected))


async def signing_keys(request: Request) -> JSONResponse:
    """The ticket-signing keys: id, active, retired (admin). Private keys never leave the
    server; scanners get the public keys from `/api/door/keys`.
    ---
    tags: [door]
    responses:
      200: {description: "keys"}
    """
    require(request.state.principal, Role.ADMIN)
    return JSONResponse({"keys": await list_keys(request.app.state.pool)})


async def rotate_signing_key(request: Request) -> JSONResponse:
    """Start signing new codes with a fresh key (admin). Codes signed by older keys stay
    valid until those keys are retired.
    ---
    tags: [door]
    responses:
      201: {description: "the new key id"}
    """
    require(request.state.principal, Role.ADMIN)
    keys = request.app.state.keys
    result = await rotate_key(request.app.state.pool, standby_s=2 * keys.reload_s)
    request.app.state.keys.forget()
    return JSONResponse(result, 201)


async def retire_signing_key(request: Request) -> JSONResponse:
    """Retire a key that no longer signs (admin): codes it signed are refused as `forged`.
    ---
    tags: [door]
    responses:
      200: {description: retired}
      409: {description: "key_active: rotate first"}
    """
    require(request.state.principal, Role.ADMIN)
    result = await retire_key(
        request.app.state.pool, path_id(request, "key_id", minimum=0, maximum=255)
    )
    request.app.state.keys.forget()
    return JSONResponse(result)


ROUTES = [
    Route("/api/door/signing-keys", signing_keys, methods=["GET"]),
    Route("/api/door/signing-keys/rotate", rotate_signing_key, methods=["POST"]),
    Route("/api/door/signing-keys/{key_id:int}/retire", retire_signing_key, methods=["POST"]),
    Route("/api/tickets/{ticket_id:int}/code", ticket_code, methods=["GET"]),
    Route("/api/tickets/{ticket_id:int}/refund", refund, methods=["POST"]),
    Route("/api/scan", scan, methods=["POST"]),
    Route("/api/scan/batch", scan_batch, methods=["POST"]),
    Route("/api/door/keys", door_keys, methods=["GET"]),
    Route("/api/door/conflicts", conflicts, methods=["GET"]),
    Route("/api/sessions/{session_id:int}/entries", entries, methods=["GET"]),
    Route("/api/sessions/{session_id:int}/door-settings", door_settings, methods=["GET", "PUT"]),
    Route(
        "/api/sessions/{session_id:int}/unscanned-reservations",
        unscanned_reservations,
        methods=["GET"],
    ),
    Route("/api/sessions/{session_id:int}/release-unscanned", release_unscanned, methods=["POST"]),
]
