"""Puts the caller's principal (from the bearer token) on ``request.state.principal``."""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from server.identity.auth import TokenSigner, principal_of
from server.platform.errors import DomainError
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
