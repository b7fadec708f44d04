"""The ASGI application: HTTP API, WebSocket endpoint, static clients, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import redis.asyncio as redis
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Mount, Route
from starlette.schemas import SchemaGenerator
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from server import http_auth, http_catalog, http_devices, http_door, http_passes, http_sales
from server.auth import TokenSigner, load_secret, principal_of
from server.catalog import Catalog
from server.config import Settings
from server.db import create_pool, migrate
from server.door_setup import setup_door
from server.door_verify import shutdown_workers
from server.errors import ApiError, api_error_handler
from server.hub import Hub
from server.live import REDIS_DOWN, Live
from server.sales import Sales
from server.sweeper import run_sweeper
from server.ws import serve_connection

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
WS_PATH = "/ws"

schemas = SchemaGenerator(
    {
        "openapi": "3.0.3",
        "info": {
            "title": "Guichet",
            "version": "0.1.0",
            "description": "Realtime ticketing: seat maps, holds, sales. Errors are "
            '{"error": {"code", "message", ...}}.',
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    }
)


async def healthz(request: Request) -> JSONResponse:
    """200 once Redis and Postgres answer, 503 otherwise.
    ---
    tags: [ops]
    responses:
      200: {description: ok}
      503: {description: "redis or postgres unreachable"}
    """
    state = request.app.state
    checks: dict[str, str] = {}
    try:
        await asyncio.wait_for(state.redis.ping(), 2)
        checks["redis"] = "ok"
    except (*REDIS_DOWN, TimeoutError):
        checks["redis"] = "down"
    try:
        async with state.pool.acquire(timeout=2) as conn:
            await conn.fetchval("SELECT 1")
        checks["postgres"] = "ok"
    except Exception:
        checks["postgres"] = "down"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "degraded", **checks}, 200 if ok else 503)


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(schemas.get_schema(routes=request.app.routes))


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, exc.status_code)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": {"code": "internal_error", "message": "internal error"}}, 500)


class PrincipalMiddleware:
    """Puts the caller's principal (from the bearer token) on ``request.state.principal``."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            signer = scope["app"].state.signer
            try:
                principal = principal_of(Request(scope), signer)
            except ApiError as exc:
                await JSONResponse(exc.body(), exc.status)(scope, receive, send)
                return
            scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


def create_app(settings: Settings | None = None) -> Guichet:
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        pool = await create_pool(settings.database_url, settings.db_pool_size)
        async with pool.acquire() as conn:
            await migrate(conn)
        client = redis.Redis.from_url(
            settings.redis_url,
            socket_timeout=5,
            socket_connect_timeout=2,
            health_check_interval=10,
            max_connections=200,
        )
        catalog = Catalog(pool)
        live = Live(client, catalog.session_facts, settings.log_length)
        hub = Hub(live, client, settings.batch_window_ms)
        state = app.state
        state.settings, state.pool, state.redis = settings, pool, client
        state.catalog, state.live, state.hub = catalog, live, hub
        state.sales = Sales(pool, live, catalog)
        state.signer = TokenSigner(await load_secret(pool))
        setup_door(state, pool, live)
        await hub.start()
        await state.door_feeds.start()
        sweeper = asyncio.create_task(
            run_sweeper(live, settings.sweep_interval_ms, settings.hold_cap_s * 1000)
        )
        try:
            yield
        finally:
            sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await sweeper
            await hub.stop()
            await state.door_feeds.stop()
            shutdown_workers()
            await client.aclose()
            await pool.close()

    routes: list[Any] = [
        Route("/healthz", healthz, methods=["GET"]),
        Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
        *http_auth.ROUTES,
        *http_catalog.ROUTES,
        *http_sales.ROUTES,
        *http_door.ROUTES,
        *http_devices.ROUTES,
        *http_passes.ROUTES,
        Mount("/", StaticFiles(directory=STATIC, html=True), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(PrincipalMiddleware)],
        exception_handlers={
            ApiError: api_error_handler,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    return Guichet(app)


class Guichet:
    """The ASGI entry point: ``/ws`` goes straight to the WebSocket endpoint with the server's
    own ``send`` (so the broadcast path can write to the transport, see
    ``server/subscriber.py``); everything else goes to the Starlette app."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            scope["app"] = self.app
            await serve_connection(scope, receive, send)
            return
        await self.app(scope, receive, send)
