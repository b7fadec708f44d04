"""HTTP handlers of passes (abonnements): creation, reading, the signed code."""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from scanning.qr import qr_png, qr_svg, ticket_pdf
from server.door.passes import PassService, PassSpec
from server.door.schemas import CODE, Pass, PassIn
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.platform.errors import Invalid
from server.web.api import Operations, Param
from server.web.requests import ID_MAX, field, json_body, path_id, timestamp

OPERATIONS = Operations()
PASSES = ("passes",)

MAX_NAME = 200
MAX_PHOTO_CHARS = 64 * 1024
"""A photo given inline is a data URL of at most this many characters (about 48 KB)."""
MAX_PHOTO_URL = 2000
MAX_SESSIONS_LISTED = 1000
_DATA_URL = re.compile(r"^data:image/(png|jpeg|webp|gif);base64,([A-Za-z0-9+/]+={0,2})$")
_TIME_MAX = datetime.fromtimestamp((1 << 32) - 1, UTC)  # codes carry uint32 unix seconds


def _passes(request: Request) -> PassService:
    return PassService(request.app.state.pool, request.app.state.keys)


def check_photo(raw: object) -> str | None:
    """A small ``data:image/...;base64,`` URL, or an ``https://`` URL."""
    if raw is None:
        return None
    if not isinstance(raw, str):
        raise Invalid("invalid_field", "'photo' is a data URL or an https URL", field="photo")
    if raw.startswith("data:"):
        if len(raw) > MAX_PHOTO_CHARS:
            raise Invalid(
                "photo_too_large",
                f"an inline photo is at most {MAX_PHOTO_CHARS} characters; use an https URL",
                field="photo",
            )
        match = _DATA_URL.match(raw)
        try:
            valid = match is not None and bool(base64.b64decode(match[2], validate=True))
        except binascii.Error:
            valid = False
        if not valid:
            raise Invalid(
                "invalid_field",
                "'photo' must be data:image/(png|jpeg|webp|gif);base64,...",
                field="photo",
            )
        return raw
    parts = urlsplit(raw)
    if (
        parts.scheme != "https"
        or not parts.netloc
        or len(raw) > MAX_PHOTO_URL
        or any(c.isspace() or not c.isprintable() or c in "\"'<>" for c in raw)
    ):
        raise Invalid("invalid_field", "'photo' is a data URL or an https URL", field="photo")
    return raw


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
