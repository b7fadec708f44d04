"""HTTP handlers of the shop's cart (all public: a cart's id is its buyer's token, as a
hold token is) and of what the shop offers besides tickets (docs/shop.md)."""

from __future__ import annotations

import re

import msgspec
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.catalog.service import SessionRow
from server.platform.errors import Invalid
from server.sales.lines import order_lines
from server.sales.service import OrderLine
from server.shop import schemas
from server.shop.carts import Carts
from server.shop.checkout import Buyer, Checkout
from server.shop.views import offers
from server.web.api import PUBLIC, Operations, Param
from server.web.requests import body_as, check_text, json_body, path_id

OPERATIONS = Operations()
TAGS = ("cart",)
CART = Param("cart", schemas.CartToken, "path", required=True)
GONE = {
    400: ("invalid_cart",),
    404: ("unknown_cart",),
    409: ("cart_checked_out",),
    410: ("cart_expired",),
}


def _carts(request: Request) -> Carts:
    carts: Carts = request.app.state.carts
    return carts


def _cart(request: Request) -> str:
    cart = str(request.path_params["cart"])
    if not re.fullmatch("[A-Za-z0-9_-]{16,64}", cart):
        raise Invalid("invalid_cart", "malformed cart id")
    return cart


def _site_url(request: Request) -> str:
    configured: str = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


@OPERATIONS.post(
    "/api/carts",
    tags=TAGS,
    permission=PUBLIC,
    body=schemas.CartIn,
    body_required=False,
    responses={201: schemas.Cart},
)
async def create_cart(request: Request) -> JSONResponse:
    """A new, empty cart with its countdown (the shop's hold time, or `hold_seconds` if
    shorter). Its id is the buyer's token: keep it private."""
    body = await json_body(request, required=False)
    try:
        parsed = msgspec.convert(body, schemas.CartIn)
    except msgspec.ValidationError as exc:
        raise Invalid("invalid_field", str(exc)) from exc
    return JSONResponse(await _carts(request).create(parsed.hold_seconds), status_code=201)


@OPERATIONS.get(
    "/api/carts/{cart}",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    responses={200: schemas.Cart},
    errors={400: ("invalid_cart",), 404: ("unknown_cart",)},
)
async def get_cart(request: Request) -> JSONResponse:
    """The cart: each session's seats and places with their tariffs (and the tariffs'
    eligibility notes), the passes, the articles, the total at today's prices, the one
    countdown, and its status (`open`, `expired`, `checked_out` with its `order_id`)."""
    return JSONResponse(await _carts(request).view(_cart(request)))


@OPERATIONS.delete(
    "/api/carts/{cart}",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    responses={200: schemas.Cart},
    errors=GONE,
)
async def abandon_cart(request: Request) -> JSONResponse:
    """Empty the cart: it expires now and every hold it has is released."""
    cart = _cart(request)
    await _carts(request).abandon(cart)
    return JSONResponse(await _carts(request).view(cart))


@OPERATIONS.post(
    "/api/carts/{cart}/extend",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    responses={200: schemas.Cart},
    errors=GONE,
)
async def extend_cart(request: Request) -> JSONResponse:
    """More time for the whole cart: every hold is extended by the hold time and the
    cart's countdown with them, never past the earliest hold's cap. A session whose hold
    is gone leaves the cart."""
    return JSONResponse(await _carts(request).extend(_cart(request)))


async def _lines(
    request: Request, session: SessionRow, body: schemas.CartSessionIn
) -> list[OrderLine]:
    items = [(item.tariff_id, item.seat, item.quantity) for item in body.items]
    return await order_lines(request.app.state.catalog, session, items)


@OPERATIONS.put(
    "/api/carts/{cart}/sessions/{session_id:int}",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    body=schemas.CartSessionIn,
    responses={200: schemas.Cart},
    errors={
        **GONE,
        400: (
            "invalid_cart",
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
            "cart_full",
        ),
        404: ("unknown_cart", "unknown_hold"),
        409: (
            "cart_checked_out",
            "sales_closed",
            "session_started",
            "seats_not_held",
            "places_not_held",
        ),
    },
)
async def put_session(request: Request) -> JSONResponse:
    """Put a session's seats or places in the cart (replacing what it had of that
    session): the hold that keeps them (made by `POST /api/sessions/{id}/holds`) and a
    tariff each, checked as an order's (a tariff bound to seat categories only for those
    seats). Every hold of the cart then shares the cart's countdown."""
    state = request.app.state
    cart = _cart(request)
    session = await state.catalog.session(path_id(request, "session_id"))
    body = await body_as(request, schemas.CartSessionIn)
    lines = await _lines(request, session, body)
    return JSONResponse(await _carts(request).put_session(cart, session, body.hold_token, lines))


@OPERATIONS.delete(
    "/api/carts/{cart}/sessions/{session_id:int}",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    responses={200: schemas.Cart},
    errors=GONE,
)
async def remove_session(request: Request) -> JSONResponse:
    """Take a session out of the cart; its hold is released."""
    cart = _cart(request)
    session_id = path_id(request, "session_id")
    return JSONResponse(await _carts(request).remove_session(cart, session_id))


@OPERATIONS.post(
    "/api/carts/{cart}/passes",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    body=schemas.CartPassIn,
    responses={200: schemas.Cart},
    errors={
        **GONE,
        400: ("invalid_cart", "cart_full", "photo_too_large"),
        404: ("unknown_cart", "unknown_pass_type"),
        409: ("cart_checked_out", "not_sold_online"),
    },
)
async def add_pass(request: Request) -> JSONResponse:
    """A pass of a type sold online, for its holder (first and last name required; a
    photo optional). It is issued once the order is paid."""
    cart = _cart(request)
    body = await body_as(request, schemas.CartPassIn)
    for name in ("holder_first_name", "holder_last_name"):
        check_text(name, getattr(body, name))
    return JSONResponse(
        await _carts(request).add_pass(
            cart,
            body.pass_type_id,
            body.holder_first_name.strip(),
            body.holder_last_name.strip(),
            body.photo,
        )
    )


@OPERATIONS.delete(
    "/api/carts/{cart}/passes/{line_id:int}",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    responses={200: schemas.Cart},
    errors=GONE,
)
async def remove_pass(request: Request) -> JSONResponse:
    """Take a pass out of the cart."""
    cart = _cart(request)
    return JSONResponse(await _carts(request).remove_product(cart, path_id(request, "line_id")))


@OPERATIONS.put(
    "/api/carts/{cart}/articles/{article_id:int}",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    body=schemas.CartArticleIn,
    responses={200: schemas.Cart},
    errors={
        **GONE,
        400: ("invalid_cart", "cart_full"),
        404: ("unknown_cart", "unknown_article"),
        409: ("cart_checked_out", "not_sold_online"),
    },
)
async def set_article(request: Request) -> JSONResponse:
    """How many units of an article sold online the cart has (0: none). The stock is
    taken at the checkout, not before."""
    cart = _cart(request)
    article_id = path_id(request, "article_id")
    body = await body_as(request, schemas.CartArticleIn)
    return JSONResponse(await _carts(request).set_article(cart, article_id, body.quantity))


@OPERATIONS.post(
    "/api/carts/{cart}/checkout",
    tags=TAGS,
    permission=PUBLIC,
    params=(CART,),
    body=schemas.CheckoutIn,
    responses={201: schemas.CartOrder, 200: schemas.CartOrder},
    errors={
        **GONE,
        400: (
            "invalid_cart",
            "empty_cart",
            "mixed_currencies",
            "unknown_tariff",
            "tariff_inactive",
            "tariff_not_for_seat",
        ),
        404: ("unknown_cart", "unknown_hold", "unknown_article", "unknown_pass_type"),
        409: (
            "cart_checked_out",
            "sales_closed",
            "session_started",
            "seats_not_held",
            "places_not_held",
            "hold_busy",
            "seats_taken",
            "not_enough_places",
            "out_of_stock",
            "not_sold_online",
            "pass_type_over",
            "pass_type_inactive",
        ),
        410: ("cart_expired", "hold_expired"),
        422: ("idempotency_key_mismatch",),
    },
)
async def checkout(request: Request) -> JSONResponse:
    """The whole cart as ONE order with ONE payment: 201 with the order, `pending` with
    its `payment` (go to `payment.redirect_url`) or, when there is nothing to pay,
    `confirmed`. The same `idempotency_key` again answers 200 with the same order. Every
    session's hold is claimed, the articles' stock taken (409 `out_of_stock`: nothing is
    sold, the holds are kept), the prices snapshotted per line with their tax."""
    cart = _cart(request)
    body = await body_as(request, schemas.CheckoutIn)
    check_text("idempotency_key", body.idempotency_key)
    check_text("name", body.buyer.name)
    buyer = Buyer(body.buyer.name.strip(), body.buyer.email.strip())
    done: Checkout = request.app.state.checkout
    order, created = await done.checkout(cart, body.idempotency_key, buyer, _site_url(request))
    return JSONResponse(order, status_code=201 if created else 200)


@OPERATIONS.get("/api/shop/offers", tags=TAGS, permission=PUBLIC, responses={200: schemas.Offers})
async def shop_offers(request: Request) -> JSONResponse:
    """The passes and articles the organiser sells online (flag `sold_online`), on sale
    and not sold out."""
    return JSONResponse(await offers(request.app.state.pool))
