"""HTTP handlers of the cash desk: registers, register sessions, reports, the journal and
refunds of journalled sales."""

from __future__ import annotations

import asyncio
from typing import Any, Literal

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from server.articles.stock import check_quantities
from server.cash import schemas
from server.cash.article_sales import ArticleSales
from server.cash.desk import DeskJournal
from server.cash.pass_sales import PassSale, PassSales
from server.cash.refunds import RefundChoice
from server.cash.registers import Registers
from server.identity.actors import actor_of
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.platform.errors import Forbidden, Invalid
from server.sales.service import DeskPayment, DeskSale
from server.web.api import PAGE, Operations, Param
from server.web.requests import body_as, page, path_id
from till.money import Kind, Method
from till.receipt import PAPERS, receipt_pdf

OPERATIONS = Operations()
CASH = ("cash",)
SELL = Permission.SELL
READ = (Permission.SELL, Permission.REGISTERS_MANAGE)
SESSION_REFUSALS: dict[int, tuple[str, ...]] = {
    403: ("not_your_register_session",),
    409: ("register_session_closed",),
}


def counted(body: schemas.CountIn) -> dict[int, int]:
    return {int(d): n for d, n in body.counted.items()}


def _registers(request: Request) -> Registers:
    registers: Registers = request.app.state.registers
    return registers


def _desk(request: Request) -> DeskJournal:
    desk: DeskJournal = request.app.state.desk
    return desk


def cashier(request: Request) -> tuple[int, bool]:
    """The caller's user id (a device cannot work a register) and whether it supervises."""
    principal: Principal = request.state.principal
    if principal.user_id is None or principal.user_id < 0:
        raise Forbidden("user_required", "register sessions are a signed-in user's")
    return principal.user_id, principal.can(Permission.REGISTERS_MANAGE)


@OPERATIONS.post(
    "/api/registers",
    tags=CASH,
    permission=Permission.REGISTERS_MANAGE,
    body=schemas.RegisterIn,
    responses={201: schemas.Register},
    errors={404: ("unknown_point_of_sale",), 409: ("register_exists",)},
)
async def create_register(request: Request) -> JSONResponse:
    """A register (a cash drawer with its own receipt numbers) at a point of sale."""
    body = await body_as(request, schemas.RegisterIn)
    register = await _registers(request).create(
        body.point_of_sale_id, body.name, body.currency or "EUR", actor_of(request)
    )
    return JSONResponse(register, status_code=201)


@OPERATIONS.get("/api/registers", tags=CASH, permission=READ, responses={200: schemas.Registers})
async def list_registers(request: Request) -> JSONResponse:
    """Every register, with its open session if any."""
    return JSONResponse({"registers": await _registers(request).all()})


@OPERATIONS.post(
    "/api/registers/{register_id:int}/sessions",
    tags=CASH,
    permission=SELL,
    body=schemas.CountIn,
    responses={201: schemas.RegisterSession},
    errors={
        400: ("invalid_count",),
        403: ("user_required",),
        409: ("register_busy", "cashier_busy"),
    },
)
async def open_register_session(request: Request) -> JSONResponse:
    """Open a register session for the caller with the float counted by denomination.
    One open session per register (409 `register_busy`) and per cashier (409
    `cashier_busy`)."""
    user_id, _ = cashier(request)
    body = await body_as(request, schemas.CountIn)
    register_id = path_id(request, "register_id")
    opened = await _registers(request).open(register_id, user_id, counted(body), actor_of(request))
    return JSONResponse(opened, status_code=201)


@OPERATIONS.get(
    "/api/registers/{register_id:int}/sessions",
    tags=CASH,
    permission=Permission.REGISTERS_MANAGE,
    params=PAGE,
    responses={200: schemas.RegisterSessions},
)
async def register_sessions(request: Request) -> JSONResponse:
    """The register's sessions, newest first (each cashier's shift apart)."""
    p = page(request)
    register_id = path_id(request, "register_id")
    rows = await _registers(request).sessions(register_id, p.limit + 1, p.offset)
    return JSONResponse(p.body("sessions", rows))


@OPERATIONS.get(
    "/api/register-sessions/current",
    tags=CASH,
    permission=SELL,
    responses={200: schemas.RegisterSession},
    errors={403: ("user_required",), 404: ("no_open_register_session",)},
)
async def current_register_session(request: Request) -> JSONResponse:
    """The caller's open register session."""
    user_id, _ = cashier(request)
    return JSONResponse(await _registers(request).current(user_id))


@OPERATIONS.post(
    "/api/register-sessions/{register_session_id:int}/operations",
    tags=CASH,
    permission=SELL,
    body=schemas.OperationIn,
    responses={201: schemas.Operation},
    errors={403: ("user_required", "not_your_register_session"), 409: SESSION_REFUSALS[409]},
)
async def cash_operation(request: Request) -> JSONResponse:
    """A cash operation with its reason: `credit` (cash put in), `debit` (taken out),
    `credit_error` (undoes a credit: takes out), `debit_error` (undoes a debit: puts in)."""
    user_id, supervisor = cashier(request)
    body = await body_as(request, schemas.OperationIn)
    done = await _registers(request).operate(
        path_id(request, "register_session_id"),
        user_id,
        supervisor,
        Kind(body.kind),
        body.amount_cents,
        body.reason,
        actor_of(request),
    )
    return JSONResponse(done, status_code=201)


@OPERATIONS.get(
    "/api/register-sessions/{register_session_id:int}/report",
    tags=CASH,
    permission=SELL,
    responses={200: schemas.RegisterSession},
    errors={403: ("user_required", "not_your_register_session")},
)
async def register_report(request: Request) -> JSONResponse:
    """The register statement: the X report of an open session (its expected cash only
    for `registers.manage`: the cashier's count is blind), the Z report of a closed one.
    Cash received, tickets per tariff, tax per rate, totals per kind of entry."""
    user_id, supervisor = cashier(request)
    registers = _registers(request)
    found = await registers.session(path_id(request, "register_session_id"))
    if found["cashier_id"] != user_id and not supervisor:
        raise Forbidden("not_your_register_session", "this register session is someone else's")
    report = await registers.session(found["id"], report_of=True, blind=not supervisor)
    return JSONResponse(report)


@OPERATIONS.get(
    "/api/register-sessions/{register_session_id:int}/journal",
    tags=CASH,
    permission=SELL,
    params=PAGE,
    responses={200: schemas.Journal},
    errors={403: ("user_required", "not_your_register_session")},
)
async def register_journal(request: Request) -> JSONResponse:
    """The session's journal entries, newest first, with their lines and payments (the
    register's last sales, to refund one)."""
    user_id, supervisor = cashier(request)
    found = await _registers(request).session(path_id(request, "register_session_id"))
    if found["cashier_id"] != user_id and not supervisor:
        raise Forbidden("not_your_register_session", "this register session is someone else's")
    p = page(request)
    rows = await _desk(request).entries(found["id"], p.limit + 1, p.offset)
    return JSONResponse(p.body("entries", rows))


@OPERATIONS.get(
    "/api/journal/{entry_id:int}/receipt.pdf",
    tags=CASH,
    permission=SELL,
    params=(Param("paper", Literal["80mm", "a4"], description="`80mm` (default) or `a4`"),),
    responses={200: {"application/pdf": None}},
    errors={403: ("user_required", "not_your_register_session")},
)
async def receipt(request: Request) -> Response:
    """A journal entry's receipt as a PDF, for an 80 mm roll or an A4 page: the figures as
    journalled (tax rate, net, tax and gross per line, payments, change). The cashier of
    the entry's register session, or `registers.manage`."""
    user_id, supervisor = cashier(request)
    paper = request.query_params.get("paper", "80mm")
    if paper not in PAPERS:
        raise Invalid("invalid_field", "'paper' is 80mm or a4", field="paper")
    found, register, name = await _desk(request).receipt(path_id(request, "entry_id"))
    if found["cashier_id"] != user_id and not supervisor:
        raise Forbidden("not_your_register_session", "this receipt is another cashier's")
    pdf = await asyncio.to_thread(receipt_pdf, found, register, name, paper)
    filename = f"receipt-{found['register_id']}-{found['receipt_no']}.pdf"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )


@OPERATIONS.post(
    "/api/register-sessions/{register_session_id:int}/close",
    tags=CASH,
    permission=SELL,
    body=schemas.CountIn,
    responses={200: schemas.RegisterSession},
    errors={
        400: ("invalid_count",),
        403: ("user_required", "not_your_register_session"),
        409: SESSION_REFUSALS[409],
    },
)
async def close_register_session(request: Request) -> JSONResponse:
    """Close with a blind count by denomination: the difference from the expected cash is
    journalled as its own entry (never forced to zero); the answer is the numbered Z
    report with the register's chain head."""
    user_id, supervisor = cashier(request)
    body = await body_as(request, schemas.CountIn)
    closed = await _registers(request).close(
        path_id(request, "register_session_id"),
        user_id,
        supervisor,
        counted(body),
        actor_of(request),
    )
    return JSONResponse(closed)


@OPERATIONS.post(
    "/api/register-sessions/{register_session_id:int}/handover",
    tags=CASH,
    permission=SELL,
    body=schemas.CountIn,
    responses={201: schemas.Handover},
    errors={
        400: ("invalid_count",),
        403: ("user_required",),
        409: ("register_session_closed", "same_cashier", "cashier_busy"),
    },
)
async def hand_over_register(request: Request) -> JSONResponse:
    """The caller takes the register over: the open session is closed with the count made
    together, and the caller's opens with that count as its float (one transaction)."""
    user_id, _ = cashier(request)
    body = await body_as(request, schemas.CountIn)
    done = await _registers(request).handover(
        path_id(request, "register_session_id"), user_id, counted(body), actor_of(request)
    )
    return JSONResponse(done, status_code=201)


@OPERATIONS.post(
    "/api/journal/{entry_id:int}/refund",
    tags=CASH,
    permission=(Permission.REFUND_ANY, Permission.REFUND_OWN_REGISTER),
    body=schemas.RefundIn,
    responses={201: schemas.Refund},
    errors={
        400: ("ticket_not_in_sale", "article_not_in_sale", "pass_not_in_sale", "currency_mismatch"),
        403: ("user_required", "not_your_register_session", "not_own_register"),
        409: (
            "not_a_sale",
            "ticket_not_active",
            "already_refunded",
            "register_session_closed",
            "pass_bookings_changed",
            "not_paid_by_wallet",
            "wallet_refund_exceeds",
            "wallet_closed",
        ),
    },
)
async def refund_journalled_sale(request: Request) -> JSONResponse:
    """Refund a journalled sale, whole (all it has left) or some of its tickets and some
    units of its articles, from the caller's open register session: a new `refund` entry
    reverses the lines (never an edit), codes are revoked, seats freed live and articles
    go back to stock (409 `already_refunded`: more units than are left), a pass becomes
    `refunded` (the door refuses it) with the bookings it has not used.
    `refund.own_register`: sales of the register the caller works at only (403
    `not_own_register`); `refund.any`: any sale."""
    user_id, _ = cashier(request)
    principal: Principal = request.state.principal
    body = await body_as(request, schemas.RefundIn)
    done: dict[str, Any] = await _desk(request).refund(
        path_id(request, "entry_id"),
        RefundChoice(
            None if body.ticket_ids is None else tuple(body.ticket_ids),
            None
            if body.articles is None
            else check_quantities((a.article_id, a.quantity) for a in body.articles),
            None if body.pass_ids is None else tuple(sorted(set(body.pass_ids))),
        ),
        body.register_session_id,
        Method(body.method or "cash"),
        user_id,
        principal.can(Permission.REFUND_ANY),
        actor_of(request),
    )
    return JSONResponse(done, status_code=201)


@OPERATIONS.post(
    "/api/register-sessions/{register_session_id:int}/sales",
    tags=CASH,
    permission=SELL,
    body=schemas.ArticleSaleIn,
    responses={201: schemas.JournalEntry, 200: schemas.JournalEntry},
    errors={
        400: (
            "payments_mismatch",
            "invalid_given",
            "currency_mismatch",
            "invalid_code",
            "invalid_amount",
        ),
        403: ("user_required", "not_your_register_session"),
        404: ("unknown_article", "unknown_code"),
        409: (
            "register_session_closed",
            "out_of_stock",
            "article_inactive",
            "article_not_here",
            "insufficient_balance",
            "wallet_blocked",
            "no_wallet",
            "code_replaced",
        ),
        422: ("idempotency_key_mismatch",),
    },
)
async def sell_articles(request: Request) -> JSONResponse:
    """Sell articles at the caller's open register session: one `sale` journal entry with
    a line per article (price and tax rate as they are now) and the payments, which must
    add up (400 `payments_mismatch`). The stock is taken in the same transaction: 409
    `out_of_stock` lists each article short with what is left, and nothing changes. A
    wallet payment debits the wallet of its `code` in that transaction too (409
    `insufficient_balance`, `wallet_blocked` or `no_wallet`: nothing is sold). A retry
    with the same `idempotency_key` returns the first entry (200)."""
    user_id, _ = cashier(request)
    body = await body_as(request, schemas.ArticleSaleIn)
    desk = DeskSale(
        path_id(request, "register_session_id"),
        tuple(DeskPayment(p.method, p.amount_cents, p.given_cents, p.code) for p in body.payments),
    )
    sales: ArticleSales = request.app.state.article_sales
    sold, made = await sales.sell(
        body.idempotency_key,
        check_quantities((i.article_id, i.quantity) for i in body.items),
        desk,
        user_id,
        actor_of(request),
    )
    return JSONResponse(sold, status_code=201 if made else 200)


@OPERATIONS.post(
    "/api/register-sessions/{register_session_id:int}/passes",
    tags=CASH,
    permission=SELL,
    body=schemas.PassSaleIn,
    responses={201: schemas.SoldPass, 200: schemas.SoldPass},
    errors={
        400: ("payments_mismatch", "invalid_given", "currency_mismatch", "photo_too_large"),
        403: ("user_required", "not_your_register_session"),
        404: ("unknown_pass_type",),
        409: ("register_session_closed", "pass_type_inactive", "pass_type_over"),
        422: ("idempotency_key_mismatch",),
    },
)
async def sell_pass(request: Request) -> JSONResponse:
    """Sell a pass of a type at the caller's open register session: in one transaction
    the pass is made for the holder (first and last name, optional photo: a data URL of
    at most 64 KiB or an https URL), a `sale` entry journals one line for it (the type's
    price and tax rate as they are now) with the payments, which must add up (400
    `payments_mismatch`). The answer carries the pass with its signed code and the
    receipt. A retry with the same `idempotency_key` returns the first sale (200)."""
    user_id, _ = cashier(request)
    body = await body_as(request, schemas.PassSaleIn)
    desk = DeskSale(
        path_id(request, "register_session_id"),
        tuple(DeskPayment(p.method, p.amount_cents, p.given_cents) for p in body.payments),
    )
    sale = PassSale(
        body.pass_type_id, body.holder_first_name.strip(), body.holder_last_name.strip(), body.photo
    )
    sales: PassSales = request.app.state.pass_sales
    sold, made = await sales.sell(body.idempotency_key, sale, desk, user_id, actor_of(request))
    return JSONResponse(sold, status_code=201 if made else 200)
