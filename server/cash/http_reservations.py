"""HTTP handlers of unpaid reservations at the cash desk: find one, collect its payment
(docs/cash.md, "Reservations at the desk")."""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.cash import schemas
from server.cash.http import SESSION_REFUSALS, cashier
from server.cash.reservations import MAX_FOUND, DeskReservations
from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.platform.errors import Invalid
from server.sales.service import DeskPayment, DeskSale
from server.web.api import Id, Operations, Param
from server.web.requests import body_as, path_id, query_id

OPERATIONS = Operations()
TAGS = ("cash",)
MAX_QUERY = 100


def _service(request: Request) -> DeskReservations:
    service: DeskReservations = request.app.state.desk_reservations
    return service


def _limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if not raw:
        return 20
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 3 and 1 <= int(raw) <= MAX_FOUND):
        raise Invalid("invalid_field", f"'limit' is a number from 1 to {MAX_FOUND}", field="limit")
    return int(raw)


@OPERATIONS.get(
    "/api/reservations",
    tags=TAGS,
    permission=Permission.SELL,
    params=(
        Param(
            "q",
            Annotated[str, Meta(max_length=MAX_QUERY)],
            description="a reservation number, or part of the buyer's name",
        ),
        Param("session_id", Id, description="only this session's"),
        Param("limit", Annotated[int, Meta(ge=1, le=MAX_FOUND)], description="at most (20)"),
    ),
    responses={200: schemas.ReservationsFound},
)
async def find_reservations(request: Request) -> JSONResponse:
    """Unpaid reservations with active tickets, newest first (at most `limit`, 50): by
    number (`q` all digits), by part of the buyer's name, by session or both. Each lists its
    active tickets and the amount due."""
    query = request.query_params.get("q", "").strip() or None
    if query is not None and (len(query) > MAX_QUERY or not query.isprintable()):
        raise Invalid("invalid_field", f"'q' is up to {MAX_QUERY} characters", field="q")
    session_id = query_id(request, "session_id", required=False)
    found = await _service(request).search(query, session_id, _limit(request))
    return JSONResponse({"reservations": found})


@OPERATIONS.post(
    "/api/orders/{order_id:int}/pay",
    tags=TAGS,
    permission=Permission.SELL,
    body=schemas.PayReservationIn,
    responses={201: schemas.ReservationPaid, 200: schemas.ReservationPaid},
    errors={
        400: ("payments_mismatch", "invalid_given", "currency_mismatch", "invalid_code"),
        403: ("user_required", *SESSION_REFUSALS[403]),
        404: ("not_found", "unknown_code"),
        409: (
            *SESSION_REFUSALS[409],
            "insufficient_balance",
            "wallet_blocked",
            "no_wallet",
            "not_a_reservation",
            "already_paid",
            "reservation_not_active",
        ),
        422: ("idempotency_key_mismatch",),
    },
)
async def pay_reservation(request: Request) -> JSONResponse:
    """Collect the payment of an unpaid reservation at the caller's open register session.

    In one transaction: the order is locked, must be a reservation (409
    `not_a_reservation`) whose tickets are all active (409 `reservation_not_active`: it
    was released or refunded), the payments must add up to its tickets' prices (400
    `payments_mismatch` with `total_cents`); it becomes a sale (the door no longer
    releases it unscanned) with a `sale` journal entry for its tickets, as a desk order's,
    and an audit entry (`order.pay`). A retry with the same `idempotency_key` returns the
    first receipt (200); another payment of a paid reservation is 409 `already_paid`."""
    user_id, _ = cashier(request)
    body = await body_as(request, schemas.PayReservationIn)
    desk = DeskSale(
        body.register_session_id,
        tuple(DeskPayment(p.method, p.amount_cents, p.given_cents, p.code) for p in body.payments),
    )
    receipt, made = await _service(request).pay(
        path_id(request, "order_id"), body.idempotency_key, desk, user_id, actor_of(request)
    )
    return JSONResponse(receipt, status_code=201 if made else 200)
