"""The statements over HTTP: each as JSON (paged where it lists lines), CSV (streamed from a
cursor) and XLSX (written off the event loop, then streamed). Permission
``accounting.read`` (role ``accounting``; admins hold every permission)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from server.accounting import registers, sales, summary
from server.accounting.exports import XLSX, Sheet, csv_response, xlsx_response
from server.accounting.period import (
    FILTERS,
    PERIOD,
    PERIOD_ERRORS,
    Filters,
    filters,
    period,
    planned,
)
from server.accounting.schemas import AccountingStatement, RegisterStatement, SalesStatement
from server.identity.permissions import Permission
from server.platform.db import connection
from server.web.api import PAGE, Operations
from server.web.requests import page, query_id

OPERATIONS = Operations()
TAGS = ("accounting",)
READ = Permission.ACCOUNTING_READ
ERRORS = {400: PERIOD_ERRORS}
CSV = {200: {"text/csv": str}}
SHEET = {200: {XLSX: None}}
REGISTER_FILTERS = tuple(
    p for p in FILTERS if p.name in ("point_of_sale_id", "register_id", "cashier_id")
)


def _register_args(request: Request) -> list[object]:
    return registers.args(
        period(request),
        query_id(request, "point_of_sale_id", required=False),
        query_id(request, "register_id", required=False),
        query_id(request, "cashier_id", required=False),
    )


# -- sales ---------------------------------------------------------------------------------


@OPERATIONS.get(
    "/api/statements/sales",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *FILTERS, *PAGE),
    responses={200: SalesStatement},
    errors=ERRORS,
)
async def sales_statement(request: Request) -> JSONResponse:
    """Every sale and refund line of a period: desks and bars (the journal) and the e-shop,
    oldest first, paged, with the totals of all the lines the filters keep (per currency,
    per tax rate, per payment method)."""
    f, pg = filters(request), page(request)
    async with connection(request.app.state.pool) as conn, planned(conn):
        lines = await sales.page(conn, f, pg)
        totals = await sales.totals(conn, f)
    return JSONResponse({**pg.body("lines", lines), "totals": totals})


def _sales_sheets(request: Request) -> tuple[Filters, list[Sheet]]:
    f = filters(request)
    return f, [sales.sheet(request.app.state.pool, f)]


@OPERATIONS.get(
    "/api/statements/sales.csv",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *FILTERS),
    responses=CSV,
    errors=ERRORS,
)
async def sales_csv(request: Request) -> StreamingResponse:
    """The sales statement as CSV (UTF-8 with a BOM, amounts with two decimals, times ISO
    8601 in `tz`), streamed from a cursor: a statement of any length, a thousand lines at
    a time."""
    f, sheets = _sales_sheets(request)
    return csv_response(sheets, f.period.zone, "sales")


@OPERATIONS.get(
    "/api/statements/sales.xlsx",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *FILTERS),
    responses=SHEET,
    errors=ERRORS,
)
async def sales_xlsx(request: Request) -> Response:
    """The sales statement as an Excel workbook: times as dates (in `tz`), amounts as
    numbers in the 0.00 format."""
    f, sheets = _sales_sheets(request)
    return await xlsx_response(sheets, f.period.zone, "sales")


# -- registers -----------------------------------------------------------------------------


@OPERATIONS.get(
    "/api/statements/registers",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *REGISTER_FILTERS, *PAGE),
    responses={200: RegisterStatement},
    errors=ERRORS,
)
async def register_statement(request: Request) -> JSONResponse:
    """Each register session opened in the period: float, cash operations, takings per
    payment method, wallet top-ups, and once closed the count, the expected cash, the
    difference, the Z number and the chain head; totals per currency."""
    a, pg = _register_args(request), page(request)
    async with connection(request.app.state.pool) as conn:
        found = await registers.page(conn, a, pg)
        totals = await registers.totals(conn, a)
    return JSONResponse({**pg.body("sessions", found), "totals": totals})


@OPERATIONS.get(
    "/api/statements/registers.csv",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *REGISTER_FILTERS),
    responses=CSV,
    errors=ERRORS,
)
async def registers_csv(request: Request) -> StreamingResponse:
    """The register statement as CSV, streamed."""
    a = _register_args(request)
    sheet = registers.sheet(request.app.state.pool, a)
    return csv_response([sheet], period(request).zone, "registers")


@OPERATIONS.get(
    "/api/statements/registers.xlsx",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *REGISTER_FILTERS),
    responses=SHEET,
    errors=ERRORS,
)
async def registers_xlsx(request: Request) -> Response:
    """The register statement as an Excel workbook."""
    a = _register_args(request)
    sheet = registers.sheet(request.app.state.pool, a)
    return await xlsx_response([sheet], period(request).zone, "registers")


# -- accounting ----------------------------------------------------------------------------


async def _accounting(request: Request) -> tuple[Filters, dict[str, Any]]:
    f = filters(request)
    async with connection(request.app.state.pool) as conn, planned(conn):
        return f, await summary.statement(conn, f)


@OPERATIONS.get(
    "/api/statements/accounting",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *FILTERS),
    responses={200: AccountingStatement},
    errors=ERRORS,
)
async def accounting_statement(request: Request) -> JSONResponse:
    """The accounting statement: takings per day (in `tz`), method and point of sale;
    sales per tariff or article, unit price and tax rate; totals per tax rate and method;
    the wallet's float at both ends of the period and its movements; unpaid reservations
    (as they stand now). The wallet is not narrowed by the filters."""
    _, found = await _accounting(request)
    return JSONResponse(found)


@OPERATIONS.get(
    "/api/statements/accounting.csv",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *FILTERS),
    responses=CSV,
    errors=ERRORS,
)
async def accounting_csv(request: Request) -> StreamingResponse:
    """The accounting statement as CSV: each section starts with a row holding its title,
    then its header, and ends with an empty row."""
    f, found = await _accounting(request)
    return csv_response(summary.sheets(found), f.period.zone, "accounting")


@OPERATIONS.get(
    "/api/statements/accounting.xlsx",
    tags=TAGS,
    permission=READ,
    params=(*PERIOD, *FILTERS),
    responses=SHEET,
    errors=ERRORS,
)
async def accounting_xlsx(request: Request) -> Response:
    """The accounting statement as an Excel workbook, a worksheet per section."""
    f, found = await _accounting(request)
    return await xlsx_response(summary.sheets(found), f.period.zone, "accounting")
