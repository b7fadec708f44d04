"""HTTP handlers of sign-in and users."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.identity.auth import create_user, require, sign_in
from server.identity.roles import Role
from server.platform.errors import Invalid
from server.web.requests import field, json_body


async def login(request: Request) -> JSONResponse:
    """Sign in with a username and password; returns a bearer token.
    ---
    tags: [auth]
    requestBody: {content: {application/json: {example: {username: "admin", password: "…"}}}}
    responses:
      200: {description: "token and user"}
      401: {description: bad_credentials}
    """
    body = await json_body(request)
    state = request.app.state
    result = await sign_in(
        state.pool, state.signer, field(body, "username", str), field(body, "password", str)
    )
    return JSONResponse(result)


async def add_user(request: Request) -> JSONResponse:
    """Create a user, or reset its password and roles (admin).
    ---
    tags: [admin]
    requestBody:
      content:
        application/json: {example: {username: "cashier1", password: "…", roles: ["pos"]}}
    responses:
      201: {description: user id}
    """
    require(request.state.principal, Role.ADMIN)
    body = await json_body(request)
    password = field(body, "password", str)
    if len(password) < 8:
        raise Invalid("weak_password", "passwords have at least 8 characters")
    roles = body.get("roles") or []
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Invalid("invalid_field", "'roles' is a list of role names", field="roles")
    user_id = await create_user(
        request.app.state.pool, field(body, "username", str), password, roles
    )
    return JSONResponse({"id": user_id, "username": body["username"], "roles": roles}, 201)


async def me(request: Request) -> JSONResponse:
    """Who the bearer token belongs to.
    ---
    tags: [auth]
    responses:
      200: {description: user}
    """
    principal = request.state.principal
    return JSONResponse(
        {"id": principal.user_id, "username": principal.username, "roles": sorted(principal.roles)}
    )


ROUTES = [
    Route("/api/auth/login", login, methods=["POST"]),
    Route("/api/auth/me", me, methods=["GET"]),
    Route("/api/users", add_user, methods=["POST"]),
]
