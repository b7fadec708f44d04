"""HTTP handlers of payments and of the buyer's order page (all public: a webhook proves
itself by its signature, an order page by its private link)."""

from __future__ import annotations

import asyncio
import re
from typing import Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from scanning.qr import qr_png, qr_svg
from server.payments.links import order_of
from server.payments.orders import OrderView
from server.payments.schemas import OrderLinkToken, OrderPage, ProviderName, WebhookAnswer
from server.payments.service import Payments
from server.platform.errors import Invalid, NotFound
from server.web.api import PUBLIC, Operations, Param
from server.web.requests import path_id, read_body

OPERATIONS = Operations()
TAGS = ("payments",)
LINK = Param("link", OrderLinkToken, "path", required=True)
MAX_WEBHOOK_BYTES = 64 * 1024
FORMAT = Literal["text", "svg", "png", "pdf"]


def _payments(request: Request) -> Payments:
    payments: Payments = request.app.state.payments
    return payments


def _order_id(request: Request) -> int:
    return order_of(request.app.state.link_secret, request.path_params["link"])


@OPERATIONS.post(
    "/api/payments/{provider}/webhook",
    tags=TAGS,
    permission=PUBLIC,
    params=(Param("provider", ProviderName, "path", required=True),),
    responses={200: WebhookAnswer},
    errors={
        400: ("bad_signature", "bad_event", "invalid_provider"),
        404: ("unknown_payment", "payments_off", "unknown_provider"),
    },
)
async def webhook(request: Request) -> JSONResponse:
    """A payment provider's event. Public, but its signature is checked first: 400
    `bad_signature` changes nothing. Applied once per event id (`changed: false` for a
    second delivery); it may come before or after the buyer's return."""
    payments = _payments(request)
    if not re.fullmatch("[a-z][a-z0-9_]{0,31}", request.path_params["provider"]):
        raise Invalid("invalid_provider", "malformed provider name")
    if request.path_params["provider"] != payments.provider.name:
        raise NotFound("unknown_provider", "no such payment provider here")
    body = await read_body(request, MAX_WEBHOOK_BYTES)
    headers = {k.lower(): v for k, v in request.headers.items()}
    return JSONResponse({"changed": await payments.webhook(headers, body)})


@OPERATIONS.get(
    "/api/orders/by-link/{link}",
    tags=TAGS,
    permission=PUBLIC,
    params=(LINK,),
    responses={200: OrderPage},
    errors={400: ("invalid_link",), 404: ("unknown_order",)},
)
async def order_page(request: Request) -> JSONResponse:
    """An order by its private link: status, payment, session and each ticket with its
    signed code (the QR code's content). 404 `unknown_order` for any other link."""
    view: OrderView = request.app.state.order_view
    return JSONResponse(await view.view(_order_id(request)))


@OPERATIONS.post(
    "/api/orders/by-link/{link}/return",
    tags=TAGS,
    permission=PUBLIC,
    params=(LINK,),
    responses={200: OrderPage},
    errors={400: ("invalid_link",), 404: ("unknown_order", "unknown_payment")},
)
async def order_return(request: Request) -> JSONResponse:
    """The buyer is back from the provider: Guichet asks the provider about the payment
    (the webhook may be late) and confirms or fails the order; then the order page."""
    order_id = _order_id(request)
    await _payments(request).returned(order_id)
    return JSONResponse(await request.app.state.order_view.view(order_id))


@OPERATIONS.get(
    "/api/orders/by-link/{link}/tickets.pdf",
    tags=TAGS,
    permission=PUBLIC,
    params=(LINK,),
    responses={200: {"application/pdf": None}},
    errors={400: ("invalid_link",), 404: ("unknown_order",), 409: ("no_tickets",)},
)
async def order_pdf(request: Request) -> Response:
    """Every valid ticket of the order, one A6 page each."""
    pdf = await request.app.state.order_view.pdf(_order_id(request))
    return Response(pdf, media_type="application/pdf")


@OPERATIONS.get(
    "/api/orders/by-link/{link}/tickets/{ticket_id:int}",
    tags=TAGS,
    permission=PUBLIC,
    params=(LINK, Param("format", FORMAT, description="`svg` (default), `png`, `pdf`, `text`")),
    responses={
        200: {"image/svg+xml": None, "image/png": None, "application/pdf": None, "text/plain": None}
    },
    errors={
        400: ("invalid_format", "invalid_link"),
        404: ("unknown_order",),
        409: ("ticket_not_active",),
    },
)
async def order_ticket(request: Request) -> Response:
    """One ticket of the order: its QR code (`svg`, `png`), its printable `pdf` or its
    code as `text`."""
    view: OrderView = request.app.state.order_view
    order_id, ticket_id = _order_id(request), path_id(request, "ticket_id")
    fmt = request.query_params.get("format", "svg")
    if fmt not in ("text", "svg", "png", "pdf"):
        raise Invalid("invalid_format", "format is svg, png, pdf or text")
    if fmt == "pdf":
        return Response(await view.pdf(order_id, ticket_id), media_type="application/pdf")
    code = await view.code(order_id, ticket_id)
    if fmt == "svg":
        return Response(await asyncio.to_thread(qr_svg, code), media_type="image/svg+xml")
    if fmt == "png":
        return Response(await asyncio.to_thread(qr_png, code), media_type="image/png")
    return PlainTextResponse(code)
