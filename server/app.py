"""The ASGI application: HTTP API, WebSocket endpoint, static clients, start-up and shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncIterator
from functools import cache, partial
from pathlib import Path
from typing import Any, Literal

import asyncpg
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Match, Mount, Route
from starlette.types import Receive, Scope, Send

from server.accounting import http as accounting_http
from server.accounting import http_stats, rollups
from server.accounting.feed import StatsFeed
from server.articles import http as articles_http
from server.articles.catalogue import ArticleCatalogue
from server.articles.feed import StockFeed
from server.articles.stock import StockNews
from server.cash import http as cash_http
from server.cash import http_reservations as cash_reservations
from server.cash.article_sales import ArticleSales
from server.cash.desk import DeskJournal
from server.cash.pass_sales import PassSales
from server.cash.registers import Registers
from server.cash.reservations import DeskReservations
from server.catalog import http as catalog_http
from server.catalog import http_admin as catalog_admin
from server.catalog.service import Catalog
from server.door import http as door_http
from server.door import http_pass_types, http_passes
from server.door.counters import DoorLive
from server.door.counts import counts_from_postgres
from server.door.feed import DoorFeed
from server.door.keys import KeyStore
from server.door.pass_booking import PassBookings
from server.door.pass_types import PassDesk, PassTypes
from server.door.passes import PassService
from server.door.service import DoorService
from server.door.verify import shutdown_workers
from server.door.ws import ScanHandler
from server.exports import http as exports_http
from server.exports.statements import file_name as statements_file_name
from server.exports.statements import statement_producer
from server.exports.tickets import file_name as tickets_file_name
from server.exports.tickets import tickets_producer
from server.exports.worker import POLL_S as EXPORT_POLL_S
from server.exports.worker import ExportWorker
from server.identity import audit as identity_audit
from server.identity import devices as identity_devices
from server.identity import http as identity_http
from server.identity import http_users as identity_users
from server.identity.auth import TokenSigner, load_secret
from server.identity.middleware import PrincipalMiddleware, guard
from server.identity.pages import page_routes
from server.identity.revocations import CHANNEL as REVOCATIONS
from server.identity.revocations import RELOAD_S as REVOCATIONS_RELOAD_S
from server.identity.revocations import Revocations
from server.identity.roles_doc import render
from server.identity.seen import DeviceSeen
from server.identity.signin import Throttle
from server.payments import http as payments_http
from server.payments import http_buyers, http_test_provider
from server.payments.buyers import BuyerLinks
from server.payments.links import link_secret
from server.payments.mail import Mailer, SmtpSettings
from server.payments.orders import OrderView
from server.payments.part_refunds import PartRefunds
from server.payments.service import Payments
from server.payments.test_provider import TestProvider, load_test_secret
from server.platform import redis_client
from server.platform.config import Settings
from server.platform.db import create_pool, migrate
from server.platform.errors import DomainError
from server.platform.loops import every
from server.platform.partitions import CREATE_AHEAD_INTERVAL_S, create_ahead_step
from server.platform.routing import IndexedRouter
from server.platform.scripts import REDIS_DOWN
from server.realtime.channels import ChannelRegistry, Feed
from server.realtime.endpoint import BUILT_IN, MessageHandler, WebSocketEndpoint
from server.realtime.relay import Relay
from server.sales import http as sales_http
from server.sales.best import BestAvailable
from server.sales.service import Sales
from server.seating.feed import SeatFeed
from server.seating.janitor import run_janitor
from server.seating.live import Live
from server.seating.outbox import Outbox
from server.seating.sweeper import run_sweeper
from server.shop import http as shop_http
from server.shop.carts import Carts
from server.shop.checkout import Checkout
from server.siteapi import http as siteapi_http
from server.siteapi import http_keys as siteapi_keys
from server.siteapi.edge import WebsiteEdge
from server.siteapi.embed import embed_route
from server.siteapi.keys import ApiKeys
from server.siteapi.limits import RateLimiter
from server.wallet import http as wallet_http
from server.wallet import http_settlement as wallet_settlement
from server.wallet.desk import DeskWallets
from server.wallet.feed import BarSalesFeed
from server.wallet.offline import AllowancePolicy, OfflineBar, allowance_secret
from server.wallet.service import Wallets
from server.wallet.settlement import Settlement
from server.web.api import PUBLIC, Operation, Operations, Reply, openapi_document, routes
from server.web.errors import domain_error_handler, http_error, server_error
from server.web.static import ClientFiles, compression

log = logging.getLogger(__name__)
STATIC = Path(__file__).resolve().parent.parent / "static"
WS_PATH = "/ws"

INFO = {
    "title": "Guichet",
    "version": "0.1.0",
    "description": "Realtime ticketing: seat maps, holds, sales, door control. Errors are "
    '{"error": {"code", "message", ...}}: `code` is stable and machine-readable. Live seat '
    "maps and door counters are on the WebSocket `/ws` (docs/protocol.md).",
}
CART_RELEASE_S = 1.0  # how often every process releases the holds of expired carts
APP_OPERATIONS = Operations()


class Health(Reply):
    status: Literal["ok", "degraded"]
    redis: Literal["ok", "down"]
    postgres: Literal["ok", "down"]


@APP_OPERATIONS.get(
    "/healthz",
    tags=("ops",),
    permission=PUBLIC,
    responses={200: Health, 503: Health},
    unavailable=(),
)
async def healthz(request: Request) -> JSONResponse:
    """200 once Redis and Postgres answer, 503 otherwise."""
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


OPERATIONS: list[Operation] = [
    *APP_OPERATIONS,
    *identity_http.OPERATIONS,
    *identity_users.OPERATIONS,
    *identity_audit.OPERATIONS,
    *identity_devices.OPERATIONS,
    *catalog_http.OPERATIONS,
    *catalog_admin.OPERATIONS,
    *sales_http.OPERATIONS,
    *door_http.OPERATIONS,
    *http_passes.OPERATIONS,
    *http_pass_types.OPERATIONS,
    *articles_http.OPERATIONS,
    *cash_http.OPERATIONS,
    *cash_reservations.OPERATIONS,
    *wallet_http.OPERATIONS,
    *wallet_settlement.OPERATIONS,
    *accounting_http.OPERATIONS,
    *exports_http.OPERATIONS,
    *payments_http.OPERATIONS,
    *http_test_provider.OPERATIONS,
    *http_buyers.OPERATIONS,
    *siteapi_keys.OPERATIONS,
    *siteapi_http.OPERATIONS,
    *http_stats.OPERATIONS,
    *shop_http.OPERATIONS,
]
"""Every HTTP operation: the routes and the OpenAPI document are both built from these."""
FEEDS: tuple[type[Feed[Any]], ...] = (SeatFeed, DoorFeed, StockFeed, BarSalesFeed, StatsFeed)
MESSAGES: tuple[type[MessageHandler], ...] = (ScanHandler,)
"""The WebSocket's feeds and message handlers (``wire`` builds one of each): what their
channels and messages need is declared on these classes."""


def roles_document() -> str:
    """``docs/roles.md``, from the presets and every declaration of the app."""
    channels = [
        (f"{kind.value}:<{feed.ident_name}>", feed.access[kind])
        for feed in FEEDS
        for kind in feed.access
    ]
    messages = [
        *((kind.value, None) for kind in BUILT_IN),
        *((handler.type.value, handler.needs) for handler in MESSAGES),
    ]
    return render(OPERATIONS, channels, messages)


@cache
def openapi_json() -> bytes:
    return json.dumps(openapi_document(OPERATIONS, INFO), separators=(",", ":")).encode()


async def openapi(request: Request) -> Response:
    """The OpenAPI 3.1 document of the HTTP API."""
    return Response(openapi_json(), media_type="application/json")


def _wire_passes(state: Any, pool: Any, keys: KeyStore, door: DoorService) -> PassDesk:
    """Pass types, desk bookings and desk sales; the door's side of the desk's passes."""
    pass_desk = PassDesk(pool, PassService(pool, keys))
    state.pass_types = PassTypes(pool)
    state.pass_bookings = PassBookings(pool, door.passes.booker, keys)
    state.pass_sales = PassSales(pool, pass_desk)
    return pass_desk


async def _wire_payments(state: Any, settings: Settings, token_secret: bytes) -> None:
    """The shop's payments, its order pages and their e-mails (docs/payments.md)."""
    pool = state.pool
    state.link_secret = secret = link_secret(token_secret)
    state.order_view = view = OrderView(pool, state.keys)
    smtp = None
    if settings.smtp_host:
        smtp = SmtpSettings(settings.smtp_host, settings.smtp_port, settings.smtp_from)
    state.mailer = mailer = Mailer(pool, view, secret, smtp)
    state.buyer_links = BuyerLinks(pool, state.redis, secret, mailer.wake)
    provider = None
    if settings.payment_provider == "test":
        provider = TestProvider(pool, await load_test_secret(pool))
    elif settings.payment_provider != "none":
        raise RuntimeError(f"unknown GUICHET_PAYMENT_PROVIDER {settings.payment_provider!r}")
    state.payments = Payments(pool, state.live, state.outbox, provider, secret, mailer.wake)
    state.part_refunds = part_refunds = PartRefunds(pool, provider)
    # a ticket of a paid e-shop order refunded at the back office: its price goes back to
    # the buyer's payment (after the cash desk's guard, which sends register sales away)
    guard = state.desk.refuse_journalled

    async def refund_hook(conn: asyncpg.Connection, tickets: list[asyncpg.Record]) -> None:
        await guard(conn, tickets)
        await part_refunds.owe(conn, tickets)

    state.door.refund_guard = refund_hook
    state.door.after_refund = part_refunds.settle


def _wire_cart(state: Any, settings: Settings, pass_desk: PassDesk, news: StockNews) -> None:
    """The shop's cart across sessions, and its checkout as one order (docs/shop.md)."""
    ttl_ms, cap_ms = settings.hold_ttl_s * 1000, settings.hold_cap_s * 1000
    state.carts = carts = Carts(state.pool, state.live, state.catalog, ttl_ms, cap_ms)
    state.checkout = checkout = Checkout(
        state.pool,
        state.live,
        state.catalog,
        state.outbox,
        carts,
        pass_desk,
        news,
        state.payments,
        _payment_grace_ms(settings),
    )
    state.payments.carts = checkout


def _payment_grace_ms(settings: Settings) -> int | None:
    """How long a paying order's hold stays claimed; None when the shop sells unpaid."""
    if settings.payment_provider == "none":
        return None
    return settings.payment_window_s * 1000


def wallet_services(
    pool: Any, keys: KeyStore, news: StockNews, token_secret: bytes
) -> tuple[Wallets, OfflineBar]:
    wallets = Wallets(pool, keys, news)
    return wallets, OfflineBar(pool, wallets, allowance_secret(token_secret), AllowancePolicy())


def _redis(settings: Settings) -> redis_client.Client:
    """The process's Redis client: standalone or cluster, from ``REDIS_URL``."""
    return redis_client.connect(
        settings.redis_url,
        socket_timeout=5,
        socket_connect_timeout=2,
        health_check_interval=10,
        max_connections=200,
    )


async def wire(state: Any, settings: Settings) -> None:
    """Build every context's services on ``app.state`` and connect them."""
    pool = await create_pool(settings.database_url, settings.db_pool_size)
    async with pool.acquire() as conn:
        await migrate(conn)
    client = _redis(settings)
    catalog = Catalog(pool)
    live = Live(client, catalog.session_facts, settings.log_length)
    keys = KeyStore(pool, settings.key_reload_s)
    door_live = DoorLive(live, partial(counts_from_postgres, pool))
    outbox = Outbox(pool, live)
    door = DoorService(pool, keys, door_live, outbox)
    registry = ChannelRegistry(client, settings.batch_window_ms)
    pooled = (StockFeed(pool), BarSalesFeed(pool), StatsFeed(pool))
    for feed in (SeatFeed(live, catalog.session), DoorFeed(door_live, catalog.session), *pooled):
        registry.add(feed)
    revocations = Revocations(pool, client)
    await revocations.load()
    token_secret = await load_secret(pool)
    signer = TokenSigner(token_secret, revocations)
    state.settings, state.pool, state.redis = settings, pool, client
    state.catalog, state.live, state.registry = catalog, live, registry
    state.outbox = outbox
    news = StockNews(pool, client)
    state.articles = ArticleCatalogue(pool, news)
    desk_wallets = DeskWallets(keys)
    state.article_sales = ArticleSales(pool, news, desk_wallets)
    pass_desk = _wire_passes(state, pool, keys, door)
    desk = DeskJournal(pool, door.refund_tickets, news, pass_desk, desk_wallets)
    state.desk = desk
    door.refund_guard = desk.refuse_journalled
    state.desk_reservations = DeskReservations(pool, desk)
    state.registers = Registers(pool)
    state.wallets, state.offline_bar = wallet_services(pool, keys, news, token_secret)
    state.settlement = Settlement(pool)
    state.exports = _export_worker(pool, keys, settings)
    state.sales = Sales(pool, live, catalog, outbox, desk, _payment_grace_ms(settings))
    state.best = BestAvailable(catalog, live)
    state.keys, state.door_live, state.door = keys, door_live, door
    state.signer = signer
    await _wire_payments(state, settings, token_secret)
    _wire_cart(state, settings, pass_desk, news)
    state.api_keys, state.rate_limiter = ApiKeys(pool), RateLimiter(client)
    state.throttle = Throttle(
        client,
        settings.signin_user_limit,
        settings.signin_address_limit,
        settings.signin_window_s,
    )
    handlers: list[MessageHandler] = [ScanHandler(door)]
    state.ws = ws = WebSocketEndpoint(registry, signer, handlers, settings.send_buffer_bytes)
    state.seen = DeviceSeen(pool)
    ws.on_auth = state.seen.saw
    state.revocations = revocations
    state.auth_relay = Relay(
        client,
        lambda _channel, data: ws.revoked(*revocations.apply(data)),
        on_reconnect=revocations.load,
    )


class Clients(Mount):
    """The static clients, on every path outside ``/api/``: a request under ``/api/`` that
    no operation takes is a JSON 404 (or a 405 when only its method is wrong), never the
    file server's answer (a 405 for any POST, even to an API path with a malformed id)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        if scope["type"] == "http" and scope["path"].startswith("/api/"):
            return Match.NONE, {}
        return super().matches(scope)


ROUTES: list[Any] = [
    *routes(OPERATIONS, guard),
    Route("/openapi.json", openapi, methods=["GET"]),
    *page_routes(STATIC),
    embed_route(STATIC),
    Clients("/", ClientFiles(directory=STATIC, html=True), name="static"),
]


def _export_worker(pool: Any, keys: KeyStore, settings: Settings) -> ExportWorker:
    producers = {
        "statement": (statement_producer(pool), statements_file_name),
        "tickets": (tickets_producer(pool, keys), tickets_file_name),
    }
    return ExportWorker(pool, Path(settings.export_dir), producers, settings.export_lease_s)


def create_app(settings: Settings | None = None) -> Guichet:
    settings = settings or Settings.from_env()
    openapi_json()  # a declaration the document cannot hold stops the start, not a request

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        state = app.state
        await wire(state, settings)
        await state.registry.start()
        await state.auth_relay.start()
        await state.auth_relay.subscribe(REVOCATIONS)
        workers = [
            asyncio.create_task(
                run_sweeper(state.live, settings.sweep_interval_ms, settings.hold_cap_s * 1000)
            ),
            asyncio.create_task(state.outbox.run()),
            asyncio.create_task(run_janitor(state.live, [state.door_live.forget])),
            asyncio.create_task(every(REVOCATIONS_RELOAD_S, state.revocations.load, "revocations")),
            asyncio.create_task(state.mailer.run()),
            asyncio.create_task(
                every(CREATE_AHEAD_INTERVAL_S, lambda: create_ahead_step(state.pool), "partitions")
            ),
            asyncio.create_task(every(EXPORT_POLL_S, state.exports.step, "exports")),
            asyncio.create_task(every(CART_RELEASE_S, state.carts.release_expired, "carts")),
            asyncio.create_task(
                every(rollups.REFRESH_S, lambda: rollups.refresh_step(state.pool), "stats")
            ),
        ]
        if state.payments.configured is not None:
            retry = settings.refund_retry_s
            workers += [
                asyncio.create_task(every(retry, state.payments.refund_due, "refunds")),
                asyncio.create_task(every(retry, state.part_refunds.settle, "part refunds")),
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
            await state.auth_relay.stop()
            shutdown_workers()
            await state.redis.aclose()
            await state.pool.close()

    app = Starlette(
        routes=ROUTES,
        middleware=[compression(), Middleware(WebsiteEdge), Middleware(PrincipalMiddleware)],
        exception_handlers={
            DomainError: domain_error_handler,
            HTTPException: http_error,
            Exception: server_error,
        },
        lifespan=lifespan,
    )
    app.router = IndexedRouter(ROUTES, lifespan=lifespan)  # the same routes, found faster
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
