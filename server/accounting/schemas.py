"""The JSON shapes of the statements. Amounts are signed integer cents (a refund's line is
negative), tax rates basis points, times ISO 8601 with their offset."""

from __future__ import annotations

from typing import Literal

import msgspec

from server.web.api import Reply


class SalesLine(Reply):
    paid_at: str
    event_at: str | None
    channel: str
    kind: str
    point_of_sale_id: int | None
    point_of_sale: str | None
    register_id: int | None
    register: str | None
    cashier_id: int | None
    cashier: str | None
    session_id: int | None
    event: str | None
    journal_id: int | None
    receipt_no: int | None
    order_id: int | None
    ticket_id: int | None
    tariff_id: int | None
    article_id: int | None
    pass_id: int | None
    description: str
    quantity: int
    unit_gross_cents: int
    tax_rate_bp: int
    net_cents: int
    tax_cents: int
    gross_cents: int
    currency: str
    method: str | None
    ticket_status: Literal["active", "refunded", "cancelled"] | None
    """The ticket's status now (a refunded ticket's sale line stays, its refund line
    follows); `null` for a line without a ticket."""


class Overall(Reply):
    currency: str
    lines: int
    net_cents: int
    tax_cents: int
    gross_cents: int


class ByRate(Reply):
    currency: str
    tax_rate_bp: int
    lines: int
    net_cents: int
    tax_cents: int
    gross_cents: int


class ByMethod(Reply):
    currency: str
    method: str
    amount_cents: int


class SalesTotals(Reply):
    overall: list[Overall]
    by_rate: list[ByRate]
    by_method: list[ByMethod]


class SalesStatement(Reply):
    lines: list[SalesLine]
    next_offset: int | None
    totals: SalesTotals


class RegisterSession(Reply):
    register_session_id: int
    register_id: int
    register: str
    point_of_sale_id: int
    point_of_sale: str
    cashier_id: int
    cashier: str
    opened_at: str
    closed_at: str | None
    currency: str
    handed_over_from: int | None
    float_cents: int
    operations: int
    operations_cents: int
    sales: int
    sales_cash_cents: int
    sales_card_cents: int
    refunds_cash_cents: int
    refunds_card_cents: int
    topups_cash_cents: int
    topups_card_cents: int
    counted_cents: int | None
    expected_cents: int | None
    difference_cents: int | None
    z_number: int | None
    z_hash: str | None


class RegisterTotals(Reply):
    currency: str
    sessions: int
    closed: int
    float_cents: int
    operations: int
    operations_cents: int
    sales: int
    sales_cash_cents: int
    sales_card_cents: int
    refunds_cash_cents: int
    refunds_card_cents: int
    topups_cash_cents: int
    topups_card_cents: int
    counted_cents: int
    expected_cents: int
    difference_cents: int


class RegisterStatement(Reply):
    sessions: list[RegisterSession]
    next_offset: int | None
    totals: list[RegisterTotals]


class ByDay(Reply):
    day: str
    method: str
    point_of_sale_id: int | None
    point_of_sale: str | None
    currency: str
    entries: int
    sales_cents: int
    topups_cents: int


class ByItem(Reply):
    currency: str
    item: str
    item_id: int | None
    description: str
    unit_gross_cents: int
    tax_rate_bp: int
    quantity: int
    net_cents: int
    tax_cents: int
    gross_cents: int


class WalletFloat(Reply):
    currency: str
    start_cents: int
    end_cents: int


class WalletMovement(Reply):
    currency: str
    kind: str
    transactions: int
    into_wallets_cents: int
    out_of_wallets_cents: int


class OpenReservations(Reply):
    currency: str
    reservations: int
    tickets: int
    amount_cents: int


class AccountingStatement(Reply):
    from_: str = msgspec.field(name="from")
    to: str
    tz: str
    by_day: list[ByDay]
    by_item: list[ByItem]
    by_rate: list[ByRate]
    by_method: list[ByMethod]
    wallet_float: list[WalletFloat]
    wallet_movements: list[WalletMovement]
    open: list[OpenReservations]
