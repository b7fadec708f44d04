"""The website API (``/api/public/v1``): events, sessions with live availability, tariffs,
and the cart calls: a session's hold and the shop's multi-session cart (seats of several
sessions, passes, articles, one countdown, one checkout), the shop's own handlers declared
again under the website's key.
Every operation needs a website's API key; the edge (``server.siteapi.edge``) checks it,
its origin and its rate limit before the route runs."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.catalog.service import Catalog
from server.sales import http as sales_http
from server.seating.live import Live
from server.shop import http as shop_http
from server.siteapi.schemas import (
    PublicEventList,
    PublicSessionDetail,
    PublicSessionPage,
    PublicTariffs,
)
from server.web.api import API_KEY, PAGE, Handler, Operations
from server.web.requests import Page, page, path_id

OPERATIONS = Operations()
TAGS = ("website api",)
V1 = "/api/public/v1"
MAX_EVENT_SESSIONS = 500


def _state(request: Request) -> tuple[Catalog, Live]:
    state = request.app.state
    return state.catalog, state.live


def site_url(request: Request) -> str:
    configured: str = request.app.state.settings.public_url
    return configured or str(request.base_url).rstrip("/")


async def _with_availability(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    """A session as the website shows it, with its live fill (the shop's seat-map state)."""
    catalog, live = _state(request)
    session = await catalog.session(row["id"])
    snap = await live.snapshot(row["id"])
    now = datetime.now(UTC)
    return {
        "id": row["id"],
        "event_name": row["event_name"],
        "starts_at": row["starts_at"],
        "ends_at": row["ends_at"],
        "room_name": row["room_name"],
        "venue_name": row["venue_name"],
        "seated": row["seated"],
        "on_sale": session.sales_open and not session.online_sales_over(now),
        "availability": {
            "capacity": snap.capacity,
            "sold": snap.sold,
            "held": snap.held,
            "free": snap.free,
            "epoch": snap.epoch,
            "seq": snap.seq,
        },
        "shop_url": f"{site_url(request)}/#/session/{row['id']}",
    }


@OPERATIONS.get(f"{V1}/events", tags=TAGS, permission=API_KEY, responses={200: PublicEventList})
async def events(request: Request) -> JSONResponse:
    """Upcoming events (sessions grouped by their event's name), soonest first."""
    catalog, _ = _state(request)
    rows = await catalog.list_sessions(True, Page(MAX_EVENT_SESSIONS, 0))
    by_name: dict[str, dict[str, Any]] = {}
    for row in rows:
        event = by_name.setdefault(
            row["event_name"],
            {"name": row["event_name"], "first_starts_at": row["starts_at"], "session_ids": []},
        )
        event["last_starts_at"] = row["starts_at"]
        event["session_ids"].append(row["id"])
    return JSONResponse({"events": list(by_name.values())})


@OPERATIONS.get(
    f"{V1}/sessions",
    tags=TAGS,
    permission=API_KEY,
    params=PAGE,
    responses={200: PublicSessionPage},
)
async def sessions(request: Request) -> JSONResponse:
    """Upcoming sessions with their live availability (capacity, sold, held, free)."""
    catalog, _ = _state(request)
    rows = await catalog.list_sessions(True, (pg := page(request)))
    listed = await asyncio.gather(*(_with_availability(request, r) for r in rows))
    return JSONResponse(pg.body("sessions", list(listed)))


@OPERATIONS.get(
    f"{V1}/sessions/{{session_id:int}}",
    tags=TAGS,
    permission=API_KEY,
    responses={200: PublicSessionDetail},
)
async def session(request: Request) -> JSONResponse:
    """One session with its live availability and the tariffs on sale."""
    catalog, _ = _state(request)
    detail = await catalog.session_detail(path_id(request, "session_id"))
    body = await _with_availability(request, detail)
    body["tariffs"] = [t for t in detail["tariffs"] if t["active"]]
    return JSONResponse(body)


@OPERATIONS.get(
    f"{V1}/sessions/{{session_id:int}}/tariffs",
    tags=TAGS,
    permission=API_KEY,
    responses={200: PublicTariffs},
)
async def tariffs(request: Request) -> JSONResponse:
    """The session's tariffs on sale, with the seat categories each applies to."""
    catalog, _ = _state(request)
    detail = await catalog.session_detail(path_id(request, "session_id"))
    on_sale = [t for t in detail["tariffs"] if t["active"]]
    return JSONResponse({"session_id": detail["id"], "tariffs": on_sale})


def _cart_call(method: str, handler: Handler, path: str, name: str) -> None:
    """A shop hold call, declared again for websites (same handler, body and answers)."""
    shop = next(o for o in sales_http.OPERATIONS if o.handler is handler and o.method == method)
    OPERATIONS.append(replace(shop, path=V1 + path, permission=API_KEY, tags=TAGS, name=name))


HOLDS = "/sessions/{session_id:int}/holds"
_cart_call("POST", sales_http.hold, HOLDS, "website_hold")
_cart_call("GET", sales_http.get_hold, HOLDS + "/{token}", "website_cart")
_cart_call("DELETE", sales_http.release, HOLDS + "/{token}", "website_release")

# The shop's cart and its offers (/api/carts/..., /api/shop/offers) under /api/public/v1.
for _shop in shop_http.OPERATIONS:
    OPERATIONS.append(
        replace(
            _shop,
            path=V1 + _shop.path.removeprefix("/api"),
            permission=API_KEY,
            tags=TAGS,
            name=f"website_{_shop.operation_id}",
        )
    )
