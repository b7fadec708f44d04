"""Puts the caller's principal (from the bearer token) on ``request.state.principal``, and
checks each route's declared permission (``guard``, which the app hands ``web.api.routes``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server.identity.auth import TokenSigner, principal_of, require
from server.identity.permissions import any_of
from server.platform.errors import DomainError
from server.web.api import Check
from server.web.errors import error_response


class PrincipalMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            signer: TokenSigner = scope["app"].state.signer
            try:
                principal = principal_of(Request(scope), signer)
            except DomainError as exc:
                await error_response(exc)(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def guard(needs: str | tuple[str, ...]) -> Check:
    """The check of a declaration that is not public: 401 ``authentication_required`` for
    an anonymous caller, 403 ``forbidden`` (with ``needs``) for one without any of the
    permissions. An unknown permission name raises ``ValueError`` here, when the routes are
    built, so such a declaration stops the start."""
    permissions = any_of(needs)

    def check(request: Request) -> None:
        require(request.state.principal, *permissions)

    return check
