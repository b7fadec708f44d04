"""HTTP handlers of signing in and out: bearer tokens, staff sessions, the caller, passwords."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.identity.actors import actor_of
from server.identity.auth import TOKEN_TTL_S, Principal
from server.identity.schemas import (
    Login,
    Me,
    MeIn,
    PasswordChange,
    PasswordChanged,
    SignedIn,
    SignedOut,
    StaffSession,
)
from server.identity.signin import (
    COOKIE,
    change_password,
    check_credentials,
    end_session,
    sign_in,
    start_session,
)
from server.identity.users import check_password_strength, fetch_user
from server.platform.db import connection
from server.platform.errors import Invalid
from server.web.api import PUBLIC, SIGNED_IN, Operations
from server.web.requests import field, json_body

OPERATIONS = Operations()
AUTH = ("auth",)
SIGN_IN_ERRORS = {401: ("bad_credentials",), 403: ("user_disabled",), 429: ("too_many_attempts",)}


def _address(request: Request) -> str | None:
    return request.client.host if request.client else None


def _with_cookie(request: Request, body: dict[str, Any], token: str | None) -> JSONResponse:
    """The reply, setting the session cookie (``token``) or clearing it (``None``)."""
    response = JSONResponse(body)
    secure = request.url.scheme == "https"
    if token is None:
        response.delete_cookie(COOKIE, path="/", secure=secure, httponly=True, samesite="strict")
    else:
        response.set_cookie(
            COOKIE,
            token,
            max_age=TOKEN_TTL_S,
            path="/",
            secure=secure,
            httponly=True,
            samesite="strict",
        )
    return response


@OPERATIONS.post(
    "/api/auth/login",
    tags=AUTH,
    permission=PUBLIC,
    body=Login,
    responses={200: SignedIn},
    errors=SIGN_IN_ERRORS,
)
async def login(request: Request) -> JSONResponse:
    """Sign in with a username and password; returns a bearer token (devices, API clients).

    Failed attempts are limited per username and per address: past the limit, 429
    `too_many_attempts` with `retry_after` seconds (and the `Retry-After` header)."""
    body = await json_body(request)
    state = request.app.state
    result = await sign_in(
        state.pool,
        state.signer,
        state.throttle,
        field(body, "username", str),
        field(body, "password", str),
        _address(request),
    )
    return JSONResponse(result)


@OPERATIONS.post(
    "/api/auth/session",
    tags=AUTH,
    permission=PUBLIC,
    body=Login,
    responses={200: StaffSession},
    errors=SIGN_IN_ERRORS,
)
async def open_session(request: Request) -> JSONResponse:
    """Sign a staff page in: sets the session cookie (HttpOnly, SameSite=Strict, 12 hours)
    and returns the user and the session's CSRF token. Limited like `/api/auth/login`."""
    body = await json_body(request)
    state = request.app.state
    username = field(body, "username", str)
    row = await check_credentials(
        state.pool, state.throttle, username, field(body, "password", str), _address(request)
    )
    token, reply = await start_session(
        state.pool, state.signer, row, actor_of(request), request.headers.get("user-agent")
    )
    return _with_cookie(request, reply, token)


@OPERATIONS.delete(
    "/api/auth/session",
    tags=AUTH,
    permission=PUBLIC,
    token_optional=True,
    responses={200: SignedOut},
)
async def close_session(request: Request) -> JSONResponse:
    """Sign out: the session ends on every server process (its open WebSockets lose their
    roles) and the cookie is cleared. Without a session, only the cookie is cleared."""
    principal: Principal = request.state.principal
    if principal.session_id is not None:
        state = request.app.state
        await end_session(state.pool, state.revocations, principal.session_id, actor_of(request))
        state.ws.revoked(None, principal.session_id)
    return _with_cookie(request, {"signed_out": True}, None)


async def _me(request: Request) -> dict[str, Any]:
    principal: Principal = request.state.principal
    sid = principal.session_id
    me: dict[str, Any] = {
        "id": principal.user_id,
        "username": principal.username,
        "roles": sorted(principal.roles),
        "permissions": sorted(p.value for p in principal.permissions),
        "via": None if principal.anonymous else ("cookie" if sid is not None else "bearer"),
        "csrf": request.app.state.signer.csrf_token(sid) if sid is not None else None,
        "expires_at": principal.expires_at,
    }
    if principal.user_id is not None and principal.user_id > 0:
        async with connection(request.app.state.pool) as conn:
            user = await fetch_user(conn, principal.user_id)
        me |= {k: user[k] for k in ("display_name", "language", "points_of_sale")}
    return me


@OPERATIONS.get(
    "/api/auth/me",
    tags=AUTH,
    permission=PUBLIC,
    token_optional=True,
    responses={200: Me},
)
async def me(request: Request) -> JSONResponse:
    """Who is calling (nobody, without a token or session), with their permissions; for a
    staff page's session, the CSRF token its state-changing requests send."""
    return JSONResponse(await _me(request))


@OPERATIONS.patch(
    "/api/auth/me",
    tags=AUTH,
    permission=SIGNED_IN,
    body=MeIn,
    responses={200: Me},
    errors={400: ("not_a_user",)},
)
async def set_my_language(request: Request) -> JSONResponse:
    """Choose the language of one's pages (`fr` or `en`); 400 `not_a_user` for a device
    (its language is set where it is enrolled)."""
    language = field(await json_body(request), "language", str)
    if language not in ("fr", "en"):
        raise Invalid("invalid_field", "'language' is 'fr' or 'en'", field="language")
    principal: Principal = request.state.principal
    if principal.user_id is None or principal.user_id < 0:
        raise Invalid("not_a_user", "devices have no language of their own")
    async with connection(request.app.state.pool) as conn:
        await conn.execute(
            "UPDATE users SET language = $2 WHERE id = $1", principal.user_id, language
        )
    return JSONResponse(await _me(request))


@OPERATIONS.post(
    "/api/auth/password",
    tags=AUTH,
    permission=SIGNED_IN,
    body=PasswordChange,
    responses={200: PasswordChanged},
    errors={
        400: ("weak_password", "not_a_user"),
        401: ("bad_credentials",),
        403: ("user_disabled",),
        429: ("too_many_attempts",),
    },
)
async def new_password(request: Request) -> JSONResponse:
    """Change one's own password (the current one is checked, with the sign-in limits).
    Every token and session of the user ends; a staff page gets a fresh session cookie."""
    body = await json_body(request)
    current, new = field(body, "current", str), field(body, "new", str)
    check_password_strength(new)
    principal: Principal = request.state.principal
    if principal.username is None or principal.user_id is None or principal.user_id < 0:
        raise Invalid("not_a_user", "sign in as a user to change your password")
    state = request.app.state
    token, reply = await change_password(
        state.pool,
        state.signer,
        state.revocations,
        state.throttle,
        principal.username,
        current,
        new,
        actor_of(request),
        request.headers.get("user-agent"),
    )
    state.ws.revoked(principal.user_id)
    if principal.session_id is None:
        return JSONResponse({"changed": True, "csrf": None})
    return _with_cookie(request, {"changed": True, "csrf": reply["csrf"]}, token)
