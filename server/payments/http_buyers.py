"""My tickets over HTTP (public: the sign-in link is the proof): ask for a link by
e-mail, list the orders it opens, close it. The link travels in request bodies, never in
a URL, so no access log or referrer holds it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.payments.buyers import LINK_TTL_S, BuyerLinks
from server.payments.schemas import (
    BuyerLinkIn,
    BuyerOrders,
    LinkClosed,
    SignInLinkAnswer,
    SignInLinkIn,
)
from server.web.api import PUBLIC, Operations
from server.web.requests import body_as

OPERATIONS = Operations()
TAGS = ("my tickets",)
LINK_ERRORS = {
    400: ("invalid_link",),
    404: ("unknown_link",),
    410: ("link_expired", "link_revoked"),
}


def _links(request: Request) -> BuyerLinks:
    links: BuyerLinks = request.app.state.buyer_links
    return links


def site_url(request: Request) -> str:
    configured: str = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


@OPERATIONS.post(
    "/api/my-tickets/link",
    tags=TAGS,
    permission=PUBLIC,
    body=SignInLinkIn,
    responses={202: SignInLinkAnswer},
    errors={400: ("invalid_email",), 429: ("too_many_requests",)},
)
async def ask_link(request: Request) -> JSONResponse:
    """Mail a sign-in link to this address if it has orders of the shop.

    The answer is the same whether or not it has any, so it does not tell who bought.
    At most 3 requests an address every 15 minutes (429 `too_many_requests`, with
    `Retry-After`)."""
    body = await body_as(request, SignInLinkIn)
    await _links(request).request(body.email, site_url(request))
    return JSONResponse({"status": "sent_if_known", "valid_minutes": LINK_TTL_S // 60}, 202)


@OPERATIONS.post(
    "/api/my-tickets/orders",
    tags=TAGS,
    permission=PUBLIC,
    body=BuyerLinkIn,
    responses={200: BuyerOrders},
    errors=LINK_ERRORS,
)
async def my_orders(request: Request) -> JSONResponse:
    """Every shop order of the sign-in link's address: session, date, number of tickets,
    status and each order's private link. 410 once the link expired or was closed."""
    body = await body_as(request, BuyerLinkIn)
    return JSONResponse(await _links(request).orders(body.token))


@OPERATIONS.post(
    "/api/my-tickets/sign-out",
    tags=TAGS,
    permission=PUBLIC,
    body=BuyerLinkIn,
    responses={200: LinkClosed},
    errors=LINK_ERRORS,
)
async def sign_out(request: Request) -> JSONResponse:
    """Close the sign-in link before it expires: it opens nothing any more."""
    body = await body_as(request, BuyerLinkIn)
    await _links(request).revoke(body.token)
    return JSONResponse({"revoked": True})
