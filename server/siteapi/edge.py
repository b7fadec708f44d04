"""The edge of the website API (every path under ``/api/public/``): the API key, its
origins (CORS) and its rate limit, before any route runs.

- The key comes in ``X-Api-Key`` (or ``?key=``, for the embedded seat picker): 401
  ``api_key_required`` without one, ``invalid_api_key`` for an unknown or revoked one.
- A request with an ``Origin`` (a browser's) must come from one of the key's origins, or
  403 ``origin_not_allowed``; the answer then carries ``Access-Control-Allow-Origin`` with
  that origin (never ``*``, never credentials) and ``Vary: Origin``.
- A preflight (``OPTIONS``) carries no key: it is answered for an origin that some valid key
  allows; the request that follows is checked against its own key.
- Then one request is counted against the key's budget in Redis: past it, 429
  ``rate_limited`` with ``Retry-After``.
"""

from __future__ import annotations

from typing import Any

from starlette.datastructures import Headers, MutableHeaders, QueryParams
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from server.platform.errors import DomainError, Forbidden, Unauthenticated
from server.siteapi.keys import ApiKeys, WebsiteKey
from server.siteapi.limits import Budget, RateLimiter
from server.web.errors import error_response

PREFIX = "/api/public/"
ALLOWED_METHODS = "GET, POST, PUT, DELETE"
ALLOWED_HEADERS = "X-Api-Key, Content-Type"
EXPOSED = "Retry-After, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset"
PREFLIGHT_MAX_AGE = "600"


def _cors(headers: MutableHeaders, origin: str | None) -> None:
    headers.add_vary_header("Origin")
    if origin:
        headers["Access-Control-Allow-Origin"] = origin
        headers["Access-Control-Expose-Headers"] = EXPOSED


class WebsiteEdge:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PREFIX):
            await self.app(scope, receive, send)
            return
        state = scope["app"].state
        keys: ApiKeys = state.api_keys
        headers = Headers(scope=scope)
        origin = headers.get("origin")
        if scope["method"] == "OPTIONS":
            await self._preflight(keys, origin, headers)(scope, receive, send)
            return
        try:
            key = await self._admit(keys, headers, scope, origin)
            budget = await self._limiter(state).hit(key.id, key.rate_per_minute)
        except DomainError as exc:
            response = error_response(exc)
            allowed = origin is not None and await self._known(keys, origin, exc)
            _cors(response.headers, origin if allowed else None)
            await response(scope, receive, send)
            return
        scope.setdefault("state", {})["api_key"] = key
        await self.app(scope, receive, self._send_with(send, origin, budget))

    @staticmethod
    def _limiter(state: Any) -> RateLimiter:
        limiter: RateLimiter = state.rate_limiter
        return limiter

    @staticmethod
    async def _admit(
        keys: ApiKeys, headers: Headers, scope: Scope, origin: str | None
    ) -> WebsiteKey:
        sent = headers.get("x-api-key") or QueryParams(scope.get("query_string", b"")).get("key")
        if not sent:
            raise Unauthenticated("api_key_required", "send the website's key in X-Api-Key")
        key = await keys.authenticate(sent)
        if origin is not None and origin.lower() not in key.origins:
            raise Forbidden("origin_not_allowed", "this key does not allow this origin")
        return key

    @staticmethod
    async def _known(keys: ApiKeys, origin: str, exc: DomainError) -> bool:
        """May the page at ``origin`` read this refusal? (Only a known website's page: a
        rate limit or an expired key must reach its script, a stranger learns nothing.)"""
        if exc.code == "origin_not_allowed":
            return False
        try:
            return await keys.origin_known(origin.lower())
        except DomainError:
            return False

    def _preflight(self, keys: ApiKeys, origin: str | None, headers: Headers) -> Any:
        async def answer(scope: Scope, receive: Receive, send: Send) -> None:
            method = headers.get("access-control-request-method", "")
            ok = origin is not None and method in ALLOWED_METHODS.split(", ")
            try:
                ok = ok and await keys.origin_known((origin or "").lower())
            except DomainError as exc:
                await error_response(exc)(scope, receive, send)
                return
            if not ok:
                refusal = Forbidden("origin_not_allowed", "no website key allows this origin")
                refused = error_response(refusal)
                refused.headers.add_vary_header("Origin")
                await refused(scope, receive, send)
                return
            response = Response(status_code=204)
            _cors(response.headers, origin)
            response.headers["Access-Control-Allow-Methods"] = ALLOWED_METHODS
            response.headers["Access-Control-Allow-Headers"] = ALLOWED_HEADERS
            response.headers["Access-Control-Max-Age"] = PREFLIGHT_MAX_AGE
            await response(scope, receive, send)

        return answer

    @staticmethod
    def _send_with(send: Send, origin: str | None, budget: Budget) -> Send:
        async def wrapped(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                _cors(headers, origin)
                headers["X-RateLimit-Limit"] = str(budget.limit)
                headers["X-RateLimit-Remaining"] = str(budget.remaining)
                headers["X-RateLimit-Reset"] = str(budget.reset_s)
            await send(message)

        return wrapped
