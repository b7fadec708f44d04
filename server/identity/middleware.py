"""Puts the caller's principal (bearer token or staff session cookie, see
``server.identity.credentials``) on ``request.state.principal``, and checks each route's
declared permission (``guard``, which the app hands ``web.api.routes``)."""

from __future__ import annotations

from starlette.requests import HTTPConnection, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server.identity.auth import TokenSigner, require
from server.identity.credentials import credentials_of
from server.identity.permissions import any_of
from server.platform.errors import DomainError, Unauthenticated
from server.web.api import SIGNED_IN, Check
from server.web.errors import error_response


class PrincipalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            signer: TokenSigner = scope["app"].state.signer
            try:
                found = credentials_of(HTTPConnection(scope), signer, scope["method"])
            except DomainError as exc:
                await error_response(exc)(scope, receive, send)
                return
            state = scope.setdefault("state", {})
            state["principal"], state["credential_problem"] = found.principal, found.problem
            scope["app"].state.seen.saw(found.principal)
        await self.app(scope, receive, send)


def guard(needs: str | tuple[str, ...]) -> Check:
    """The check of a declaration that is not public: 401 ``authentication_required`` for
    an anonymous caller (or why its credentials did not count: an expired or revoked
    session, a missing CSRF header), 403 ``forbidden`` (with ``needs``) for one without any
    of the permissions. An unknown permission name raises ``ValueError`` here, when the
    routes are built, so such a declaration stops the start."""
    permissions = () if needs == SIGNED_IN else any_of(needs)

    def check(request: Request) -> None:
        principal = request.state.principal
        problem = request.state.credential_problem
        if principal.anonymous and problem is not None:
            raise problem
        if permissions:
            require(principal, *permissions)
        elif principal.anonymous:
            raise Unauthenticated("authentication_required", "sign in to do this")

    return check
