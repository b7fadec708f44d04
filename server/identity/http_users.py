"""HTTP handlers of the back office's staff: users, their roles and points of sale."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.identity.revocations import revoke_user_tokens
from server.identity.schemas import (
    NewUser,
    PasswordReset,
    PointOfSale,
    PointOfSaleIn,
    PointsOfSale,
    Revocation,
    StaffUser,
    UserChange,
    UserPage,
)
from server.identity.users import (
    check_password_strength,
    create_point_of_sale,
    create_user,
    fetch_user,
    list_points_of_sale,
    list_users,
    reset_password,
    set_disabled,
    update_user,
)
from server.platform.db import connection
from server.platform.errors import Invalid, NotFound
from server.web.api import PAGE, SIGNED_IN, Operations, Param
from server.web.requests import field, json_body, page, path_id

OPERATIONS = Operations()
ADMIN = ("admin",)
MANAGE = Permission.USERS_MANAGE
GRANT_ERRORS = {403: ("cannot_grant", "not_yourself")}
LANGUAGES = ("fr", "en")


def _ids(body: dict[str, Any], name: str) -> list[int] | None:
    value = body.get(name)
    if value is None:
        return None
    if (
        not isinstance(value, list)
        or len(value) > 100
        or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value)
    ):
        raise Invalid("invalid_field", f"'{name}' is a list of ids", field=name)
    return value


def _roles(body: dict[str, Any]) -> list[str] | None:
    roles = body.get("roles")
    if roles is None:
        return None
    if not isinstance(roles, list) or len(roles) > 15 or not all(isinstance(r, str) for r in roles):
        raise Invalid("invalid_field", "'roles' is a list of role names", field="roles")
    return roles


def _language(body: dict[str, Any]) -> str | None:
    language = field(body, "language", str, None)
    if language is not None and language not in LANGUAGES:
        raise Invalid("invalid_field", "'language' is 'fr' or 'en'", field="language")
    return language


async def _voided(request: Request, user_id: int, at: datetime | None) -> None:
    """After the commit: every process refuses the user's old tokens, open WebSockets
    here lose their roles (the others' through the published revocation)."""
    if at is not None:
        state = request.app.state
        await state.revocations.publish(user_id, at)
        state.ws.revoked(user_id)


@OPERATIONS.get(
    "/api/users",
    tags=ADMIN,
    permission=MANAGE,
    params=(*PAGE, Param("q", str, description="part of a username or display name")),
    responses={200: UserPage},
)
async def users(request: Request) -> JSONResponse:
    """Staff users by username, with roles, points of sale and last sign-in."""
    query = request.query_params.get("q") or None
    if query is not None and len(query) > 80:
        raise Invalid("invalid_field", "'q' is at most 80 characters", field="q")
    return JSONResponse(await list_users(request.app.state.pool, query, page(request)))


@OPERATIONS.post(
    "/api/users",
    tags=ADMIN,
    permission=MANAGE,
    body=NewUser,
    responses={201: StaffUser},
    errors={
        400: ("weak_password", "unknown_role", "unknown_point_of_sale"),
        403: ("cannot_grant",),
    },
)
async def add_user(request: Request) -> JSONResponse:
    """Create a user, or reset its password and roles (its tokens end).

    The caller grants only what it may (`docs/roles.md`): an admin any role, anyone else
    only roles whose permissions it holds all of, and it may not reset a user who holds
    more; 403 `cannot_grant` (with the `roles`) otherwise."""
    body = await json_body(request)
    username = field(body, "username", str, max_length=80)
    password = field(body, "password", str)
    check_password_strength(password)
    pool = request.app.state.pool
    user_id = await create_user(
        pool,
        username,
        password,
        _roles(body) or [],
        granter=request.state.principal.permissions,
        actor=actor_of(request),
        display_name=field(body, "display_name", str, "", max_length=200),
        points_of_sale=_ids(body, "points_of_sale"),
        language=_language(body),
    )
    async with connection(pool) as conn:
        user = await fetch_user(conn, user_id)
    return JSONResponse(user, 201)


@OPERATIONS.patch(
    "/api/users/{user_id:int}",
    tags=ADMIN,
    permission=MANAGE,
    body=UserChange,
    responses={200: StaffUser},
    errors={400: ("unknown_role", "unknown_point_of_sale"), **GRANT_ERRORS},
)
async def change_user(request: Request) -> JSONResponse:
    """Change a user's display name, language, roles or points of sale. New roles are
    granted under the same rule as at creation; nobody changes their own roles (403
    `not_yourself`). A change of roles ends the user's sessions and tokens: it signs in
    again with its new rights."""
    user_id = path_id(request, "user_id")
    body = await json_body(request)
    changes: dict[str, Any] = {}
    if (display_name := field(body, "display_name", str, None, max_length=200)) is not None:
        changes["display_name"] = display_name
    if (language := _language(body)) is not None:
        changes["language"] = language
    if (roles := _roles(body)) is not None:
        changes["roles"] = roles
    if (points := _ids(body, "points_of_sale")) is not None:
        changes["points_of_sale"] = points
    user, voided = await update_user(
        request.app.state.pool,
        actor_of(request),
        request.state.principal.permissions,
        user_id,
        changes,
    )
    await _voided(request, user_id, voided)
    return JSONResponse(user)


async def _disabled(request: Request, disabled: bool) -> JSONResponse:
    user_id = path_id(request, "user_id")
    user, voided = await set_disabled(
        request.app.state.pool,
        actor_of(request),
        request.state.principal.permissions,
        user_id,
        disabled,
    )
    await _voided(request, user_id, voided)
    return JSONResponse(user)


@OPERATIONS.post(
    "/api/users/{user_id:int}/disable",
    tags=ADMIN,
    permission=MANAGE,
    responses={200: StaffUser},
    errors=GRANT_ERRORS,
)
async def disable_user(request: Request) -> JSONResponse:
    """Disable a user: sign-in is refused (403 `user_disabled`) and every session and
    token ends at once on every server process (open pages and WebSockets included)."""
    return await _disabled(request, True)


@OPERATIONS.post(
    "/api/users/{user_id:int}/enable",
    tags=ADMIN,
    permission=MANAGE,
    responses={200: StaffUser},
    errors=GRANT_ERRORS,
)
async def enable_user(request: Request) -> JSONResponse:
    """Let a disabled user sign in again."""
    return await _disabled(request, False)


@OPERATIONS.post(
    "/api/users/{user_id:int}/password",
    tags=ADMIN,
    permission=MANAGE,
    body=PasswordReset,
    responses={200: StaffUser},
    errors={400: ("weak_password",), **GRANT_ERRORS},
)
async def set_password(request: Request) -> JSONResponse:
    """Reset a user's password; its sessions and tokens end."""
    user_id = path_id(request, "user_id")
    password = field(await json_body(request), "password", str)
    user, voided = await reset_password(
        request.app.state.pool,
        actor_of(request),
        request.state.principal.permissions,
        user_id,
        password,
    )
    await _voided(request, user_id, voided)
    return JSONResponse(user)


@OPERATIONS.post(
    "/api/users/{user_id:int}/revoke-tokens",
    tags=ADMIN,
    permission=MANAGE,
    responses={200: Revocation},
)
async def revoke_tokens(request: Request) -> JSONResponse:
    """Void every token of a user issued until now: refused at once by every server
    process, its open WebSockets lose their roles; the user signs in again."""
    user_id = path_id(request, "user_id")
    state = request.app.state
    if not await revoke_user_tokens(state.pool, state.revocations, user_id, actor_of(request)):
        raise NotFound.of("user")
    state.ws.revoked(user_id)
    return JSONResponse({"id": user_id, "revoked": True})


@OPERATIONS.get(
    "/api/points-of-sale", tags=ADMIN, permission=SIGNED_IN, responses={200: PointsOfSale}
)
async def points_of_sale(request: Request) -> JSONResponse:
    """Cash desks, bars, kiosks and the e-shop."""
    return JSONResponse({"items": await list_points_of_sale(request.app.state.pool)})


@OPERATIONS.post(
    "/api/points-of-sale",
    tags=ADMIN,
    permission=MANAGE,
    body=PointOfSaleIn,
    responses={201: PointOfSale},
    errors={409: ("name_taken",)},
)
async def add_point_of_sale(request: Request) -> JSONResponse:
    """Add a point of sale (`desk`, `bar`, `eshop` or `kiosk`)."""
    body = await json_body(request)
    created = await create_point_of_sale(
        request.app.state.pool,
        actor_of(request),
        field(body, "name", str, max_length=80),
        field(body, "kind", str, "desk"),
    )
    return JSONResponse(created, 201)
