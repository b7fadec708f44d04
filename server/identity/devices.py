"""Scanner devices: an admin enrols a device, the device trades a one-time code for a token.

The admin creates a device (name, room filter, language, entry/exit mode) and gets an
enrolment code valid for 15 minutes, shown as a QR code of the scanner page's URL
(``/scanner.html#enrol=<code>``). Opening it on the device calls ``POST /api/devices/enrol``
once: the answer is a bearer token holding only the ``entry_check`` role, issued to
``device:<name>`` (user id ``-<device id>``, so it is never mistaken for a user row).
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import replace
from typing import Any

import asyncpg
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from scanning.names import is_door_name
from scanning.qr import qr_svg
from server.identity.actors import actor_of
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.identity.revocations import revoke_device
from server.identity.roles import Role
from server.identity.schemas import (
    DeviceIn,
    DevicePage,
    EnrolIn,
    Enrolled,
    Enrolment,
    Revocation,
)
from server.platform.audit import record
from server.platform.db import connection
from server.platform.errors import Conflict, Forbidden, Gone, Invalid, NotFound
from server.web.api import PAGE, PUBLIC, Operations
from server.web.requests import field, id_field, json_body, page, path_id

ENROLMENT_TTL_S = 15 * 60
LANGUAGES = ("en", "fr")
MODES = ("entry", "exit")
DEVICE_ROLES = [Role.ENTRY_CHECK.value]

OPERATIONS = Operations()
DOOR = ("door",)
MANAGE = Permission.DEVICES_MANAGE

_COLUMNS = (
    "id, name, room_id, language, mode, enrolled_at, enrolment_expires_at, revoked_at, last_seen_at"
)


def _device_json(row: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": row["id"],
        "name": row["name"],
        "room_id": row["room_id"],
        "language": row["language"],
        "mode": row["mode"],
        "created_at": row["enrolled_at"].isoformat(),
        "enrolment_expires_at": row["enrolment_expires_at"].isoformat()
        if row["enrolment_expires_at"]
        else None,
        "revoked": row["revoked_at"] is not None,
        "last_seen_at": row["last_seen_at"].isoformat() if row["last_seen_at"] else None,
    }


def config_url(request: Request, code: str) -> str:
    """The scanner page URL a phone camera opens from the QR code."""
    return f"{str(request.base_url).rstrip('/')}/scanner.html#enrol={code}"


def _choice(body: dict[str, Any], name: str, choices: tuple[str, ...]) -> str:
    value = field(body, name, str, choices[0])
    if value not in choices:
        raise Invalid("invalid_field", f"'{name}' is one of {', '.join(choices)}", field=name)
    return value


async def _new_code(conn: asyncpg.Connection, device_id: int) -> tuple[asyncpg.Record, str]:
    code = secrets.token_urlsafe(18)
    row = await conn.fetchrow(
        "UPDATE devices SET enrolment_code = $2, enrolment_used_at = NULL,"
        f" enrolment_expires_at = now() + make_interval(secs => $3)"
        f" WHERE id = $1 AND revoked_at IS NULL RETURNING {_COLUMNS}",
        device_id,
        code,
        ENROLMENT_TTL_S,
    )
    if row is None:
        if await conn.fetchval("SELECT true FROM devices WHERE id = $1", device_id):
            raise Conflict("device_revoked", "this device was revoked; create a new one")
        raise NotFound.of("device")
    return row, code


def _enrolment(request: Request, row: asyncpg.Record, code: str) -> dict[str, Any]:
    return {
        "device": _device_json(row),
        "enrolment_code": code,
        "config_url": config_url(request, code),
        "qr_url": f"/api/devices/{row['id']}/enrolment.svg",
    }


@OPERATIONS.post(
    "/api/devices",
    tags=DOOR,
    permission=MANAGE,
    body=DeviceIn,
    responses={201: Enrolment},
    errors={409: ("device_exists",)},
)
async def create_device(request: Request) -> JSONResponse:
    """Create a scanner device and its one-time enrolment code.

    The answer has the device, its `enrolment_code` (15 minutes, single use), the
    `config_url` a phone camera opens and the `qr_url` of that URL's QR code."""
    principal: Principal = request.state.principal
    body = await json_body(request)
    name = field(body, "name", str)
    if not is_door_name(name):
        raise Invalid("invalid_field", "'name' is 1-40 letters, digits, '_.-'", field="name")
    room_id = id_field(body, "room_id", None)
    language, mode = _choice(body, "language", LANGUAGES), _choice(body, "mode", MODES)
    async with connection(request.app.state.pool) as conn, conn.transaction():
        try:
            device_id = await conn.fetchval(
                "INSERT INTO devices (name, room_id, language, mode, enrolled_by)"
                " VALUES ($1, $2, $3, $4, $5) RETURNING id",
                name,
                room_id,
                language,
                mode,
                principal.user_id if (principal.user_id or 0) > 0 else None,
            )
        except asyncpg.UniqueViolationError:
            raise Conflict("device_exists", f"a device is already named {name!r}") from None
        except asyncpg.ForeignKeyViolationError:
            raise Invalid("invalid_field", "no such room", field="room_id") from None
        row, code = await _new_code(conn, device_id)
        await record(conn, actor_of(request), "device.create", f"device:{device_id}", name=name)
    return JSONResponse(_enrolment(request, row, code), 201)


@OPERATIONS.post(
    "/api/devices/{device_id:int}/enrolment",
    tags=DOOR,
    permission=MANAGE,
    responses={200: Enrolment},
    errors={409: ("device_revoked",)},
)
async def renew_enrolment(request: Request) -> JSONResponse:
    """A fresh enrolment code for a device (the old one stops working)."""
    device_id = path_id(request, "device_id")
    async with connection(request.app.state.pool) as conn, conn.transaction():
        row, code = await _new_code(conn, device_id)
        await record(conn, actor_of(request), "device.enrolment", f"device:{device_id}")
    return JSONResponse(_enrolment(request, row, code))


@OPERATIONS.post(
    "/api/devices/{device_id:int}/revoke", tags=DOOR, permission=MANAGE, responses={200: Revocation}
)
async def revoke(request: Request) -> JSONResponse:
    """Revoke a device: its token is refused at once by every server process, its
    open WebSockets lose their roles, and it cannot enrol again."""
    device_id = path_id(request, "device_id")
    state = request.app.state
    if not await revoke_device(state.pool, state.revocations, device_id, actor_of(request)):
        raise NotFound.of("device")
    state.ws.revoked(-device_id)
    return JSONResponse({"id": device_id, "revoked": True})


@OPERATIONS.get(
    "/api/devices", tags=DOOR, permission=MANAGE, params=PAGE, responses={200: DevicePage}
)
async def list_devices(request: Request) -> JSONResponse:
    """Enrolled scanner devices."""
    async with connection(request.app.state.pool) as conn:
        pg = page(request)
        rows = await conn.fetch(f"SELECT {_COLUMNS} FROM devices ORDER BY id" + pg.sql())
    return JSONResponse(pg.body("devices", [_device_json(r) for r in rows]))


@OPERATIONS.get(
    "/api/devices/{device_id:int}/enrolment.svg",
    tags=DOOR,
    permission=MANAGE,
    responses={200: {"image/svg+xml": str}},
)
async def enrolment_svg(request: Request) -> Response:
    """The configuration QR code (SVG) of a device's pending enrolment; 404 when
    there is no such device or no pending enrolment."""
    async with connection(request.app.state.pool) as conn:
        code = await conn.fetchval(
            "SELECT enrolment_code FROM devices WHERE id = $1 AND enrolment_used_at IS NULL"
            " AND enrolment_expires_at > now()",
            path_id(request, "device_id"),
        )
    if code is None:
        raise NotFound.of("pending enrolment")
    return Response(
        await asyncio.to_thread(qr_svg, config_url(request, code)), media_type="image/svg+xml"
    )


@OPERATIONS.post(
    "/api/devices/enrol",
    tags=DOOR,
    permission=PUBLIC,
    body=EnrolIn,
    responses={200: Enrolled},
    errors={
        403: ("device_revoked",),
        404: ("unknown_code",),
        409: ("code_used",),
        410: ("code_expired",),
    },
)
async def enrol(request: Request) -> JSONResponse:
    """Trade a one-time enrolment code for a device token (role entry_check) and the config."""
    code = field(await json_body(request), "code", str)
    async with connection(request.app.state.pool) as conn, conn.transaction():
        row = await conn.fetchrow(
            "UPDATE devices SET enrolment_used_at = now() WHERE enrolment_code = $1"
            " AND enrolment_used_at IS NULL AND enrolment_expires_at > now()"
            f" AND revoked_at IS NULL RETURNING {_COLUMNS}",
            code,
        )
        if row is None:
            await _explain_refusal(conn, code)
        enrolled = replace(actor_of(request), name=f"device:{row['name']}", device_id=row["id"])
        await record(conn, enrolled, "device.enrol", f"device:{row['id']}")
    name = row["name"]
    token = request.app.state.signer.issue(-row["id"], f"device:{name}", DEVICE_ROLES)
    device = _device_json(row)
    config = {k: device[k] for k in ("room_id", "language", "mode")}
    return JSONResponse({"token": token, "device": device, "config": config})


async def _explain_refusal(conn: asyncpg.Connection, code: str) -> None:
    row = await conn.fetchrow(
        "SELECT enrolment_used_at, enrolment_expires_at > now() AS live, revoked_at"
        " FROM devices WHERE enrolment_code = $1",
        code,
    )
    if row is None:
        raise NotFound("unknown_code", "no such enrolment code")
    if row["enrolment_used_at"] is not None:
        raise Conflict("code_used", "this enrolment code was already used")
    if row["revoked_at"] is not None:
        raise Forbidden("device_revoked", "this device was revoked")
    raise Gone("code_expired", "this enrolment code has expired; ask for a new one")
