"""HTTP handlers of holds and orders: the e-shop's and the cash desk's selling path."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from seatmap.best import MAX_BEST
from server.catalog.service import Catalog, SessionRow
from server.identity.actors import actor_of
from server.identity.auth import Principal, require
from server.identity.permissions import Permission
from server.platform.errors import Conflict, Invalid
from server.sales.lines import Item, order_lines
from server.sales.overbook import OVERBOOK_TOKEN
from server.sales.schemas import (
    MAX_ARTICLE_UNITS,
    MAX_ARTICLES,
    MAX_ORDER_LINES,
    MAX_PLACES,
    BestIn,
    Hold,
    HoldAdded,
    HoldExtended,
    HoldIn,
    HoldReleased,
    HoldToken,
    IdempotencyKey,
    Order,
    OrderIn,
    ReleaseIn,
)
from server.sales.service import (
    DeskPayment,
    DeskSale,
    OrderLine,
    OrderRequest,
    hold_refusal,
    session_started,
)
from server.seating.live import HoldRefused
from server.web.api import PUBLIC, Operations, Param, Spec
from server.web.requests import check_text, field, id_field, json_body, path_id, string_list

OPERATIONS = Operations()
HOLDS = ("holds",)
TOKEN = Param("token", HoldToken, "path", required=True)
HOLD_GONE = {404: ("unknown_hold",), 410: ("hold_expired",)}


def _token(request: Request) -> str:
    token = request.path_params["token"]
    if not (16 <= len(token) <= 64) or not token.replace("-", "").replace("_", "").isalnum():
        raise Invalid("invalid_token", "malformed hold token")
    return str(token)


async def _open_session(request: Request) -> SessionRow:
    session: SessionRow = await request.app.state.catalog.session(path_id(request, "session_id"))
    if not session.sales_open:
        raise Conflict("sales_closed", "sales are closed for this session")
    principal: Principal = request.state.principal
    if not principal.can(Permission.SELL) and session.online_sales_over(datetime.now(UTC)):
        raise session_started()
    return session


async def _seat_ids(request: Request, session: SessionRow) -> tuple[str, ...]:
    if not session.seated:
        return ()
    seats: tuple[str, ...] = (await request.app.state.catalog.plan_seats(session.seat_plan_id)).ids
    return seats


def _now_ms() -> int:
    return int(time.time() * 1000)


def _hold_json(
    token: str, seats: list[str], quantity: int, expires_ms: int, **extra: object
) -> dict[str, object]:
    return {
        "expires_in_ms": max(expires_ms - _now_ms(), 0),
        "token": token,
        "seats": seats,
        "quantity": quantity,
        "expires_at_ms": expires_ms,
        **extra,
    }


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/holds",
    tags=HOLDS,
    permission=PUBLIC,
    body=HoldIn,
    responses={200: HoldAdded},
    errors={
        400: (
            "not_general_admission",
            "empty_hold",
            "invalid_token",
            "not_seated",
            "unknown_seats",
        ),
        409: ("sales_closed", "session_started", "seats_taken", "not_enough_places"),
        **HOLD_GONE,
    },
)
async def hold(request: Request) -> JSONResponse:
    """Hold seats (all or nothing) or general-admission places.

    Without `token` a new hold token is created; with it, seats are added to that hold (its
    clock is not reset). The answer lists what this request added; `GET .../holds/{token}`
    lists the whole hold. `hold_seconds` (optional, new tokens only) asks for a shorter hold
    than the default. Refusals: 409 `seats_taken` (with the exact seats) or
    `not_enough_places`; 404 `unknown_hold` (the token names no live hold)."""
    state = request.app.state
    session = await _open_session(request)
    body = await json_body(request)
    seat_ids = string_list(body, "seats", max_items=100)
    quantity = field(body, "quantity", int, 0, minimum=0)
    if session.seated and quantity:
        raise Invalid("not_general_admission", "this session is seated; hold seats by id")
    if quantity > MAX_PLACES:
        raise Invalid("invalid_field", f"at most {MAX_PLACES} places per hold", field="quantity")
    if not seat_ids and not quantity:
        raise Invalid("empty_hold", "give 'seats' or a 'quantity'")
    given = body.get("token")
    token = given or secrets.token_urlsafe(16)  # new tokens are always the server's
    if not isinstance(token, str) or not (16 <= len(token) <= 64) or not token.isascii():
        raise Invalid("invalid_token", "malformed hold token")
    indices = await state.catalog.seat_indices(session, seat_ids)
    settings = state.settings
    hold_seconds = min(
        field(body, "hold_seconds", int, settings.hold_ttl_s, minimum=1), settings.hold_ttl_s
    )
    try:
        seq, expires = await state.live.hold(
            session.id,
            token,
            indices,
            quantity,
            hold_seconds * 1000,
            settings.hold_cap_s * 1000,
            create=given is None,
        )
    except HoldRefused as exc:
        raise hold_refusal(exc, await _seat_ids(request, session)) from exc
    return JSONResponse(_hold_json(token, seat_ids, quantity, expires, seq=seq))


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/holds/best",
    tags=HOLDS,
    permission=PUBLIC,
    body=BestIn,
    responses={200: HoldAdded},
    errors={
        400: ("not_seated", "invalid_token", "unknown_tariff", "tariff_inactive"),
        409: ("sales_closed", "session_started", "not_enough_seats"),
        **HOLD_GONE,
    },
)
async def hold_best(request: Request) -> JSONResponse:
    """Best available: the server chooses `quantity` seats and holds them, in one atomic
    step (so two cashiers asking at once never get the same seats).

    Together in one row when any row has that many free side by side, nearest the plan's
    focal point (the stage), never leaving a single free seat between them and a taken one
    or the row's end unless nothing else fits; else the nearest free seats. With
    `tariff_id`, only seats of that tariff's categories; wheelchair places only with
    `accessible: true` (then each choice holds one). 409 `not_enough_seats` when fewer are
    free. With `token`, the seats are added to that live hold."""
    state = request.app.state
    session = await _open_session(request)
    if not session.seated:
        raise Invalid("not_seated", "best available is for seated sessions; hold a quantity")
    body = await json_body(request)
    n = field(body, "quantity", int, minimum=1, maximum=MAX_BEST)
    categories: list[str] = []
    tariff_id = id_field(body, "tariff_id", None)
    if tariff_id is not None:
        tariff = (await state.catalog.tariffs(session.id)).get(tariff_id)
        if tariff is None:
            raise Invalid("unknown_tariff", "no such tariff for this session", tariffs=[tariff_id])
        if not tariff["active"]:
            raise Invalid("tariff_inactive", "this tariff is no longer sold", tariffs=[tariff_id])
        categories = list(tariff["categories"])
    given = body.get("token")
    token = given or secrets.token_urlsafe(16)
    if not isinstance(token, str) or not (16 <= len(token) <= 64) or not token.isascii():
        raise Invalid("invalid_token", "malformed hold token")
    settings = state.settings
    hold_seconds = min(
        field(body, "hold_seconds", int, settings.hold_ttl_s, minimum=1), settings.hold_ttl_s
    )
    try:
        seats, seq, expires = await state.best.hold(
            session,
            token,
            n,
            categories,
            field(body, "accessible", bool, False),
            hold_seconds * 1000,
            settings.hold_cap_s * 1000,
            create=given is None,
        )
    except HoldRefused as exc:
        raise hold_refusal(exc) from exc
    return JSONResponse(_hold_json(token, seats, 0, expires, seq=seq))


@OPERATIONS.get(
    "/api/sessions/{session_id:int}/holds/{token}",
    tags=HOLDS,
    permission=PUBLIC,
    params=(TOKEN,),
    responses={200: Hold},
    errors={400: ("invalid_token",), 404: ("unknown_hold",)},
)
async def get_hold(request: Request) -> JSONResponse:
    """What a hold token holds and when it expires (404 `unknown_hold`: never existed,
    expired or bought)."""
    state = request.app.state
    session = await state.catalog.session(path_id(request, "session_id"))
    token = _token(request)
    try:
        info = await state.live.hold_info(session.id, token)
    except HoldRefused as exc:
        raise hold_refusal(exc) from exc
    ids = await _seat_ids(request, session)
    return JSONResponse(
        _hold_json(
            token,
            [ids[i] for i in info.seats],
            info.quantity,
            info.expires_ms,
            cap_at_ms=info.cap_ms,
        )
    )


RELEASE: Spec = {
    "tags": HOLDS,
    "permission": PUBLIC,
    "params": (TOKEN,),
    "body": ReleaseIn,
    "body_required": False,
    "responses": {200: HoldReleased},
    "errors": {400: ("invalid_token", "not_seated", "unknown_seats"), 404: ("unknown_hold",)},
}


@OPERATIONS.delete("/api/sessions/{session_id:int}/holds/{token}", **RELEASE)
@OPERATIONS.post("/api/sessions/{session_id:int}/holds/{token}/release", **RELEASE)
async def release(request: Request) -> JSONResponse:
    """Release some seats/places of a hold, or all of it when the body is empty."""
    state = request.app.state
    session = await state.catalog.session(path_id(request, "session_id"))
    token = _token(request)
    body = await json_body(request, required=False)
    seat_ids = string_list(body, "seats", max_items=100)
    quantity = field(body, "quantity", int, 0, minimum=0)
    everything = not seat_ids and not quantity
    indices = await state.catalog.seat_indices(session, seat_ids)
    try:
        seq = await state.live.release(session.id, token, None if everything else indices, quantity)
    except HoldRefused as exc:
        raise hold_refusal(exc) from exc
    return JSONResponse({"token": token, "seq": seq})


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/holds/{token}/extend",
    tags=HOLDS,
    permission=PUBLIC,
    params=(TOKEN,),
    responses={200: HoldExtended},
    errors={400: ("invalid_token",), **HOLD_GONE},
)
async def extend(request: Request) -> JSONResponse:
    """Extend a hold by the hold time, never past its absolute cap."""
    state = request.app.state
    session = await state.catalog.session(path_id(request, "session_id"))
    token = _token(request)
    try:
        expires, cap = await state.live.extend(session.id, token, state.settings.hold_ttl_s * 1000)
    except HoldRefused as exc:
        raise hold_refusal(exc) from exc
    return JSONResponse(
        {
            "token": token,
            "expires_at_ms": expires,
            "expires_in_ms": max(expires - _now_ms(), 0),
            "cap_at_ms": cap,
        }
    )


async def _order_lines(catalog: Catalog, session: SessionRow, items: Any) -> list[OrderLine]:
    """One line per seat or general-admission place; at most ``MAX_ORDER_LINES`` in all."""
    if not isinstance(items, list) or not items or len(items) > MAX_ORDER_LINES:
        raise Invalid(
            "invalid_field", f"'items' is a list of 1-{MAX_ORDER_LINES} items", field="items"
        )
    if not all(isinstance(item, dict) for item in items):
        raise Invalid("invalid_field", "each item is an object", field="items")
    wanted: list[Item] = []
    for item in items:
        seat = field(item, "seat", str) if "seat" in item else None
        quantity = (
            1
            if seat is not None
            else field(item, "quantity", int, 1, minimum=1, maximum=MAX_ORDER_LINES)
        )
        wanted.append((id_field(item, "tariff_id"), seat, quantity))
    return await order_lines(catalog, session, wanted)


def _desk_sale(body: dict[str, Any]) -> DeskSale | None:
    """The register session and payments of a desk sale, when named."""
    register_session_id = id_field(body, "register_session_id", None)
    if register_session_id is None:
        if body.get("articles") is not None:
            raise Invalid("articles_need_register", "articles are sold at a register session")
        return None
    raw = body.get("payments")
    if not isinstance(raw, list) or not 1 <= len(raw) <= 10:
        raise Invalid("invalid_field", "'payments' is a list of 1-10 items", field="payments")
    if not all(isinstance(p, dict) for p in raw):
        raise Invalid("invalid_field", "each payment is an object", field="payments")
    payments = tuple(
        DeskPayment(
            method=field(p, "method", str),
            amount_cents=field(p, "amount_cents", int, minimum=0),
            given_cents=field(p, "given_cents", int, None, minimum=0),
            code=field(p, "code", str, None),
        )
        for p in raw
    )
    return DeskSale(register_session_id, payments, _articles(body))


def _articles(body: dict[str, Any]) -> tuple[tuple[int, int], ...]:
    raw = body.get("articles")
    if raw is None:
        return ()
    if not isinstance(raw, list) or not 1 <= len(raw) <= MAX_ARTICLES:
        message = f"'articles' is a list of 1-{MAX_ARTICLES} items"
        raise Invalid("invalid_field", message, field="articles")
    if not all(isinstance(a, dict) for a in raw):
        raise Invalid("invalid_field", "each article is an object", field="articles")
    return tuple(
        (
            id_field(a, "article_id"),
            field(a, "quantity", int, minimum=1, maximum=MAX_ARTICLE_UNITS),
        )
        for a in raw
    )


@OPERATIONS.post(
    "/api/sessions/{session_id:int}/orders",
    tags=("orders",),
    permission=PUBLIC,
    token_optional=True,
    params=(Param("Idempotency-Key", IdempotencyKey, "header"),),
    body=OrderIn,
    responses={201: Order, 200: Order},
    errors={
        400: (
            "idempotency_key_required",
            "seat_required",
            "too_many_places",
            "not_seated",
            "unknown_seats",
            "empty_order",
            "duplicate_seats",
            "unknown_tariff",
            "mixed_currencies",
            "tariff_inactive",
            "tariff_not_for_seat",
            "payments_mismatch",
            "invalid_given",
            "currency_mismatch",
            "articles_need_register",
            "overbook_at_register",
            "invalid_code",
            "invalid_amount",
        ),
        401: ("authentication_required",),
        403: ("forbidden", "register_session_required", "not_your_register_session"),
        404: ("unknown_hold", "unknown_article", "unknown_code"),
        409: (
            "sales_closed",
            "session_started",
            "seats_not_held",
            "places_not_held",
            "seats_taken",
            "not_enough_places",
            "hold_busy",
            "order_in_progress",
            "register_session_closed",
            "out_of_stock",
            "article_inactive",
            "article_not_here",
            "seats_not_blocked",
            "room_left",
            "insufficient_balance",
            "wallet_blocked",
            "no_wallet",
        ),
        410: ("hold_expired",),
        422: ("idempotency_key_mismatch",),
    },
)
async def create_order(request: Request) -> JSONResponse:
    """Buy what a hold token holds: one ticket per seat (or place) with a tariff each.

    The order is committed in Postgres; `idempotency_key` (or the `Idempotency-Key` header)
    makes a retried request return the first order (200) instead of selling twice; the same
    key for another order is 422 `idempotency_key_mismatch`. `reservation: true` books a
    reservation instead of a sale (a rule of its own: it needs the `reserve` permission,
    401/403 without): an organiser may release it if it is not scanned in time
    (`POST .../release-unscanned`). A caller with `sell` books a `pos` order, anyone else
    a `web` one. A 503 sold nothing and kept the hold.

    At the cash desk, `register_session_id` (the caller's open register session) and
    `payments` journal the sale in the order's transaction (docs/cash.md): 400
    `payments_mismatch` when they do not add up to the total, 403
    `not_your_register_session`, 409 `register_session_closed`. `articles` (at a register
    only) are sold with the tickets in the same journal entry, their stock taken in the
    order's transaction (409 `out_of_stock`: nothing is sold, the hold is kept).

    `overbook: true` (permission `sell.overbook`, at a register, no `hold_token`) sells
    seats the organiser blocked, or places past a full session's capacity, without a hold;
    it is audited as `order.overbook`. 409 `seats_not_blocked` names seats to sell through
    a hold instead, 409 `room_left` places the session still has room for."""
    state = request.app.state
    principal: Principal = request.state.principal
    session = await state.catalog.session(path_id(request, "session_id"))
    body = await json_body(request)
    key = request.headers.get("idempotency-key") or body.get("idempotency_key")
    if not isinstance(key, str) or not (8 <= len(key) <= 128):
        raise Invalid("idempotency_key_required", "send an idempotency key of 8-128 characters")
    check_text("idempotency_key", key)
    overbook = field(body, "overbook", bool, False)
    if overbook:
        require(principal, Permission.SELL_OVERBOOK)  # a finer rule of this public route
    hold_token = OVERBOOK_TOKEN if overbook else field(body, "hold_token", str)
    lines = await _order_lines(state.catalog, session, body.get("items"))
    buyer = body.get("buyer") or {}
    if not isinstance(buyer, dict):
        raise Invalid("invalid_field", "'buyer' is an object", field="buyer")
    channel = "pos" if principal.can(Permission.SELL) else "web"
    reservation = field(body, "reservation", bool, False)
    if reservation:
        require(principal, Permission.RESERVE)  # a finer rule of this public route
    order_request = OrderRequest(
        session_id=session.id,
        hold_token=hold_token,
        idempotency_key=key,
        lines=tuple(lines),
        channel=channel,
        buyer_name=field(buyer, "name", str, None),
        buyer_email=field(buyer, "email", str, None),
        # a device's principal has a negative id (no users row): its orders name no user
        user_id=principal.user_id if (principal.user_id or 0) > 0 else None,
        kind="reservation" if reservation else "sale",
        actor=None if principal.anonymous else actor_of(request),
        desk=_desk_sale(body),
        overbook=overbook,
    )
    order, created = await state.sales.confirm(session, order_request)
    order.pop("_lines", None)
    if channel == "web":  # its private link, its payment (docs/payments.md)
        order = await state.payments.describe(order, _site_url(request))
    return JSONResponse(order, status_code=201 if created else 200)


def _site_url(request: Request) -> str:
    configured: str = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")
