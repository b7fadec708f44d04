"""The ASGI application: HTTP API, WebSocket endpoint, static clients, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from functools import partial
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
from starlette.types import Receive, Scope, Send

from server.catalog import http as catalog_http
from server.catalog.service import Catalog
from server.door import http as door_http
from server.door import http_passes
from server.door.counters import DoorLive
from server.door.counts import counts_from_postgres
from server.door.feed import DoorFeed
from server.door.keys import KeyStore
from server.door.service import DoorService
from server.door.verify import shutdown_workers
from server.door.ws import scan_handler
from server.identity import devices as identity_devices
from server.identity import http as identity_http
from server.identity.auth import TokenSigner, load_secret
from server.identity.middleware import PrincipalMiddleware
from server.platform.config import Settings
from server.platform.db import create_pool, migrate
from server.platform.errors import DomainError
from server.platform.scripts import REDIS_DOWN
from server.realtime.channels import ChannelRegistry
from server.realtime.endpoint import WebSocketEndpoint
from server.sales import http as sales_http
from server.sales.service import Sales
from server.seating.feed import SeatFeed
from server.seating.janitor import run_janitor
from server.seating.live import Live
from server.seating.outbox import Outbox
from server.seating.sweeper import run_sweeper
from server.web.errors import domain_error_handler, http_error, server_error

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


async def wire(state: Any, settings: Settings) -> None:
    """Build every context's services on ``app.state`` and connect them."""
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
    keys = KeyStore(pool, settings.key_reload_s)
    door_live = DoorLive(live, partial(counts_from_postgres, pool))
    outbox = Outbox(pool, live)
    door = DoorService(pool, keys, door_live, outbox)
    registry = ChannelRegistry(client, settings.batch_window_ms)
    registry.add(SeatFeed(live, catalog.session))
    registry.add(DoorFeed(door_live, catalog.session))
    signer = TokenSigner(await load_secret(pool))
    state.settings, state.pool, state.redis = settings, pool, client
    state.catalog, state.live, state.registry = catalog, live, registry
    state.outbox = outbox
    state.sales = Sales(pool, live, catalog, outbox)
    state.keys, state.door_live, state.door = keys, door_live, door
    state.signer = signer
    state.ws = WebSocketEndpoint(registry, signer, [scan_handler(door)], settings.send_buffer_bytes)


ROUTES: list[Any] = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/openapi.json", openapi, methods=["GET"], include_in_schema=False),
    *identity_http.ROUTES,
    *identity_devices.ROUTES,
    *catalog_http.ROUTES,
    *sales_http.ROUTES,
    *door_http.ROUTES,
    *http_passes.ROUTES,
    Mount("/", StaticFiles(directory=STATIC, html=True), name="static"),
]


def create_app(settings: Settings | None = None) -> Guichet:
    settings = settings or Settings.from_env()

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        await wire(state, settings)
        await state.registry.start()
        workers = [
            asyncio.create_task(
                run_sweeper(state.live, settings.sweep_interval_ms, settings.hold_cap_s * 1000)
            ),
            asyncio.create_task(state.outbox.run()),
            asyncio.create_task(run_janitor(state.live, [state.door_live.forget])),
        ]
        try:
            yield
        finally:
            for worker in workers:
                worker.cancel()
            for worker in workers:
                with contextlib.suppress(asyncio.CancelledError):
                    await worker
            await state.registry.stop()
            shutdown_workers()
            await state.redis.aclose()
            await state.pool.close()

    app = Starlette(
        routes=ROUTES,
        middleware=[Middleware(PrincipalMiddleware)],
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    return Guichet(app)


class Guichet:
    """The ASGI entry point: ``/ws`` goes straight to the WebSocket endpoint with the server's
    own ``send`` (so the broadcast path can write to the transport, see
    ``server/realtime/subscriber.py``); everything else goes to the Starlette app."""

    def __init__(self, app: Starlette) -> None:
        self.app = app
        self.state = app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket" and scope["path"] == WS_PATH:
            await self.state.ws(scope, receive, send)
            return
        await self.app(scope, receive, send)
