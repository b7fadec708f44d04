"""HTTP handlers of the door: ticket codes, refunds, scans, offline uploads, counters."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from scanning.qr import qr_png, qr_svg, ticket_pdf
from server.auth import Principal, require
from server.door import MAX_BATCH, DoorService, ScanRequest, check_door, check_nonce
from server.errors import bad_request
from server.requests import field, json_body, path_id, timestamp
from server.roles import Role

SCANNER_ROLES = (Role.ENTRY_CHECK,)


def _door(request: Request) -> DoorService:
    service: DoorService = request.app.state.door
    return service


def device_of(principal: Principal, device: str | None) -> str:
    """Scans are stored per device; a device name is scoped to the signed-in account."""
    name = check_door(device) if device else "default"
    return f"{principal.username}/{name}"


def scan_request(body: dict[str, Any], *, require_time: bool = False) -> ScanRequest:
    scanned_at = (
        timestamp(body, "scanned_at")
        if require_time or body.get("scanned_at") is not None
        else datetime.now(UTC)
    )
    return ScanRequest(
        code=field(body, "code", str),
        nonce=check_nonce(field(body, "nonce", str)),
        door=check_door(field(body, "door", str)),
        scanned_at=scanned_at,
        session_id=field(body, "session_id", int, None),
        room_id=field(body, "room_id", int, None),
    )


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
        raise bad_request("invalid_format", "format is text, svg, png or pdf")
    info = await _door(request).code(
        path_id(request, "ticket_id"), request.query_params.get("hold_token"), staff
    )
    code: str = info["code"]
    if fmt == "svg":
        return Response(qr_svg(code), media_type="image/svg+xml")
    if fmt == "png":
        return Response(qr_png(code), media_type="image/png")
    if fmt == "pdf":
        ticket = info["ticket"]
        pdf = ticket_pdf(
            code=code,
            event=info["event_name"],
            session_start=info["starts_at"][:16].replace("T", " "),
            room=info["room"],
            seat=ticket["seat"],
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
      200: {description: "result valid|refused, reason, ticket, entered_at/entered_door"}
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
        raise bad_request("invalid_field", "'scans' is a list of objects", field="scans")
    if len(raw) > MAX_BATCH:
        raise bad_request("batch_too_large", f"at most {MAX_BATCH} scans per upload")
    scans = [scan_request(s, require_time=True) for s in raw]
    return JSONResponse(await _door(request).upload(device, scans))


async def door_keys(request: Request) -> JSONResponse:
    """What an offline scanner needs for `session_id`: public keys (hex, by key id), revoked
    codes (`<ticket id>:<seed hex>`) and the tickets already entered.
    ---
    tags: [door]
    """
    require(request.state.principal, *SCANNER_ROLES)
    raw = request.query_params.get("session_id", "")
    if not raw.isdigit():
        raise bad_request("invalid_field", "'session_id' is required", field="session_id")
    return JSONResponse(await _door(request).bundle(int(raw)))


async def conflicts(request: Request) -> JSONResponse:
    """Tickets admitted twice (found when offline scans were uploaded), both scans each.
    ---
    tags: [door]
    """
    require(request.state.principal, Role.ADMIN)
    raw = request.query_params.get("session_id")
    session_id = int(raw) if raw and raw.isdigit() else None
    return JSONResponse({"conflicts": await _door(request).conflicts(session_id)})


async def entries(request: Request) -> JSONResponse:
    """Door counters of a session: entered, inside, refused by reason, per door, rates.
    ---
    tags: [door]
    """
    require(request.state.principal, Role.ENTRY_CHECK, Role.STATS)
    session_id = path_id(request, "session_id")
    await request.app.state.catalog.session(session_id)
    return JSONResponse(await request.app.state.door_live.counters(session_id))


ROUTES = [
    Route("/api/tickets/{ticket_id:int}/code", ticket_code, methods=["GET"]),
    Route("/api/tickets/{ticket_id:int}/refund", refund, methods=["POST"]),
    Route("/api/scan", scan, methods=["POST"]),
    Route("/api/scan/batch", scan_batch, methods=["POST"]),
    Route("/api/door/keys", door_keys, methods=["GET"]),
    Route("/api/door/conflicts", conflicts, methods=["GET"]),
    Route("/api/sessions/{session_id:int}/entries", entries, methods=["GET"]),
]
