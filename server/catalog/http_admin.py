"""HTTP handlers of the back office's catalogue pages: editing tariffs, the tariff grid,
a session's tickets and the preview of a seat plan before it is imported."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from seatmap.plan import plan_to_document
from server.catalog.http import (
    ADMIN_TAG,
    MANAGE,
    MAX_PLAN_BODY,
    PLAN_ERRORS,
    PLAN_FORMAT,
    categories,
    note,
    plan_format,
    read_plan,
    tariff_body,
)
from server.catalog.schemas import (
    MAX_GRID_SESSIONS,
    MAX_GRID_TARIFFS,
    PlanPreview,
    SeatPlanDocument,
    SessionTariff,
    TariffGrid,
    TariffGridIn,
    TariffPatch,
    TicketPage,
)
from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.platform.errors import Invalid
from server.web.api import PAGE, Operations
from server.web.requests import field, id_field, json_body, page, path_id

OPERATIONS = Operations()


def tariff_changes(body: dict[str, Any]) -> dict[str, Any]:
    """The fields of a ``TariffPatch`` that were sent."""
    changes: dict[str, Any] = {}
    if body.get("name") is not None:
        changes["name"] = field(body, "name", str)
    if body.get("price_cents") is not None:
        changes["price_cents"] = field(body, "price_cents", int, minimum=0)
    if body.get("tax_rate_bp") is not None:
        changes["tax_rate_bp"] = field(body, "tax_rate_bp", int, minimum=0, maximum=10_000)
    if (names := categories(body)) is not None:
        changes["categories"] = names
    if (text := note(body)) is not None:
        changes["note"] = text
    if body.get("active") is not None:
        changes["active"] = field(body, "active", bool)
    return changes


@OPERATIONS.patch(
    "/api/tariffs/{tariff_id:int}",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=TariffPatch,
    responses={200: SessionTariff},
    errors={400: ("unknown_category",)},
)
async def update_tariff(request: Request) -> JSONResponse:
    """Change a tariff: name, price, tax rate, categories, note, or deactivate it
    (`active: false`: no longer sold; tickets already sold keep it).

    Categories must be categories of the session's plan (400 `unknown_category`). Tickets
    already sold keep the price they were sold at."""
    changes = tariff_changes(await json_body(request))
    tariff = await request.app.state.catalog.update_tariff(
        path_id(request, "tariff_id"), changes, actor_of(request)
    )
    return JSONResponse(tariff)


def _list(body: dict[str, Any], name: str, most: int) -> list[Any]:
    value = body.get(name)
    if not isinstance(value, list) or not 1 <= len(value) <= most:
        raise Invalid("invalid_field", f"'{name}' is a list of 1 to {most} items", field=name)
    return value


@OPERATIONS.post(
    "/api/tariff-grid",
    tags=ADMIN_TAG,
    permission=MANAGE,
    body=TariffGridIn,
    responses={201: TariffGrid},
    errors={400: ("unknown_category",), 404: ("not_found",)},
)
async def apply_tariff_grid(request: Request) -> JSONResponse:
    """Create the same tariffs on many sessions at once, in one transaction: all or
    nothing. A missing session is 404 `not_found` (with `sessions`); a category that one
    session's plan lacks is 400 `unknown_category` (with `session_id`)."""
    body = await json_body(request)
    session_ids = [
        id_field({"session_ids": s}, "session_ids")
        for s in _list(body, "session_ids", MAX_GRID_SESSIONS)
    ]
    grid = []
    for item in _list(body, "tariffs", MAX_GRID_TARIFFS):
        if not isinstance(item, dict):
            raise Invalid("invalid_field", "each tariff is an object", field="tariffs")
        grid.append(tariff_body(item))
    unique = list(dict.fromkeys(session_ids))
    created = await request.app.state.catalog.apply_tariff_grid(unique, grid, actor_of(request))
    return JSONResponse({"tariffs": created}, 201)


@OPERATIONS.get(
    "/api/sessions/{session_id:int}/tickets",
    tags=ADMIN_TAG,
    permission=(MANAGE, Permission.SELL),
    params=PAGE,
    responses={200: TicketPage},
)
async def session_tickets(request: Request) -> JSONResponse:
    """The tickets and pass bookings of a session, oldest first: seat, tariff, price,
    status, order, channel and buyer (or pass holder)."""
    pg = page(request)
    rows = await request.app.state.catalog.session_tickets(path_id(request, "session_id"), pg)
    return JSONResponse(pg.body("tickets", rows))


@OPERATIONS.post(
    "/api/seat-plans/preview",
    tags=ADMIN_TAG,
    permission=MANAGE,
    params=(PLAN_FORMAT,),
    body=SeatPlanDocument,
    responses={200: PlanPreview},
    errors={400: PLAN_ERRORS},
)
async def preview_plan(request: Request) -> JSONResponse:
    """Validate a seat plan (ours or pretix's, as for the import) and answer it as it would
    be stored, without storing it: its seats as on the seat-map endpoint, and the document
    in our format."""
    plan, fmt = read_plan(await json_body(request, limit=MAX_PLAN_BODY), plan_format(request))
    document = plan_to_document(plan)
    return JSONResponse(
        {
            "format": fmt,
            "name": plan.name,
            "size": document["size"],
            "categories": document["categories"],
            "seat_count": len(plan.seats),
            "seats": [
                [
                    s.id,
                    s.label,
                    s.row,
                    s.zone,
                    s.category,
                    round(s.x, 1),
                    round(s.y, 1),
                    s.accessible,
                ]
                for s in plan.seats
            ],
            "document": document,
        }
    )
