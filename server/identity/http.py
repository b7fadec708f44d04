"""HTTP handlers of sign-in and users."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.identity.auth import create_user, sign_in
from server.identity.permissions import Permission
from server.identity.revocations import revoke_user_tokens
from server.identity.schemas import Login, Me, NewUser, Revocation, SignedIn, User
from server.platform.errors import Invalid, NotFound
from server.web.api import PUBLIC, Operations
from server.web.requests import field, json_body, path_id

OPERATIONS = Operations()
AUTH = ("auth",)


@OPERATIONS.post(
    "/api/auth/login",
    tags=AUTH,
    permission=PUBLIC,
    body=Login,
    responses={200: SignedIn},
    errors={401: ("bad_credentials",)},
)
async def login(request: Request) -> JSONResponse:
    """Sign in with a username and password; returns a bearer token."""
    body = await json_body(request)
    state = request.app.state
    result = await sign_in(
        state.pool, state.signer, field(body, "username", str), field(body, "password", str)
    )
    return JSONResponse(result)


@OPERATIONS.post(
    "/api/users",
    tags=("admin",),
    permission=Permission.USERS_MANAGE,
    body=NewUser,
    responses={201: User},
    errors={400: ("weak_password", "unknown_role"), 403: ("cannot_grant",)},
)
async def add_user(request: Request) -> JSONResponse:
    """Create a user, or reset its password and roles.

    The caller grants only what it may (`docs/roles.md`): an admin any role, anyone else
    only roles whose permissions it holds all of, and it may not reset a user who holds
    more; 403 `cannot_grant` (with the `roles`) otherwise."""
    body = await json_body(request)
    password = field(body, "password", str)
    if len(password) < 8:
        raise Invalid("weak_password", "passwords have at least 8 characters")
    roles = body.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Invalid("invalid_field", "'roles' is a list of role names", field="roles")
    user_id = await create_user(
        request.app.state.pool,
        field(body, "username", str),
        password,
        roles,
        granter=request.state.principal.permissions,
    )
    return JSONResponse({"id": user_id, "username": body["username"], "roles": roles}, 201)


@OPERATIONS.post(
    "/api/users/{user_id:int}/revoke-tokens",
    tags=("admin",),
    permission=Permission.USERS_MANAGE,
    responses={200: Revocation},
)
async def revoke_tokens(request: Request) -> JSONResponse:
    """Void every token of a user issued until now: refused at once by every server
    process, its open WebSockets lose their roles; the user signs in again."""
    user_id = path_id(request, "user_id")
    state = request.app.state
    if not await revoke_user_tokens(state.pool, state.revocations, user_id):
        raise NotFound.of("user")
    state.ws.revoked(user_id)
    return JSONResponse({"id": user_id, "revoked": True})


@OPERATIONS.get(
    "/api/auth/me",
    tags=AUTH,
    permission=PUBLIC,
    token_optional=True,
    responses={200: Me},
    unavailable=(),
)
async def me(request: Request) -> JSONResponse:
    """Who the bearer token belongs to (nobody, without a token)."""
    principal = request.state.principal
    return JSONResponse(
        {"id": principal.user_id, "username": principal.username, "roles": sorted(principal.roles)}
    )
