"""The embedded seat picker: ``/embed.html?session=<id>&key=<key>&origin=<site>`` is the
shop's page (``index.html``) for one session in its compact mode (``shop-embed.js``), for an
iframe that ``static/embed.js`` puts in an organiser's page.

The key must be valid and ``origin`` one of its origins (the page that embeds); the answer
says so to the browser with ``Content-Security-Policy: frame-ancestors <the key's
origins>``, so no other site can frame it, and ``shop-embed.js`` posts its height only to
that origin. Not an API operation (an HTML page, like the staff pages), so not in
``/openapi.json``."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, PlainTextResponse, Response
from starlette.routing import Route

from server.platform.errors import DomainError
from server.siteapi.keys import ApiKeys, normal_origin
from server.web.errors import status_of

EMBED_PAGE = "/embed.html"
"""The page's path: a route of the app outside the operations, checked by its key."""
SHOP_SCRIPT = '<script type="module" src="shop-public.js"></script>'
EMBED_SCRIPT = '<script type="module" src="shop-embed.js"></script>'


@cache
def embed_html(static: Path) -> str:
    """``index.html`` with the embed's script and the ``embedded`` body class."""
    html = (static / "index.html").read_text(encoding="utf-8")
    if SHOP_SCRIPT not in html or "<body>" not in html:
        raise RuntimeError("index.html no longer has the shop's script tag or a plain <body>")
    return html.replace(SHOP_SCRIPT, EMBED_SCRIPT).replace("<body>", '<body class="embedded">')


def _refusal(status: int, text: str) -> Response:
    return PlainTextResponse(
        text, status, headers={"Content-Security-Policy": "frame-ancestors 'none'"}
    )


def embed_route(static: Path) -> Route:
    async def embed_page(request: Request) -> Response:
        keys: ApiKeys = request.app.state.api_keys
        session, key = request.query_params.get("session", ""), request.query_params.get("key", "")
        if not (session.isascii() and session.isdigit() and len(session) <= 18):
            return _refusal(400, "invalid_session: ?session=<id> is required")
        try:
            found = await keys.authenticate(key)
            origin = normal_origin(request.query_params.get("origin", ""))
        except DomainError as exc:
            return _refusal(status_of(exc), f"{exc.code}: {exc.message}")
        if origin not in found.origins:
            return _refusal(403, "origin_not_allowed: this key does not allow this site")
        ancestors = " ".join(sorted(found.origins))
        headers = {
            "Content-Security-Policy": f"frame-ancestors {ancestors}",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        }
        return HTMLResponse(embed_html(static), headers=headers)

    return Route(EMBED_PAGE, embed_page, methods=["GET"])
