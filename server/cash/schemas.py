"""The JSON shapes of registers, register sessions, reports and the journal."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from server.sales.schemas import DeskPaymentIn, IdempotencyKey, PaymentIn, WalletPaid
from server.web.api import TEXT_PATTERN, Id, Reply, Text, Timestamp
from server.web.requests import INT_MAX

MAX_DENOMINATIONS = 30
Cents = Annotated[int, Meta(ge=1, le=INT_MAX)]
Counted = Annotated[
    dict[Annotated[str, Meta(pattern="^[1-9][0-9]{0,8}$")], Annotated[int, Meta(ge=0, le=100_000)]],
    Meta(max_length=MAX_DENOMINATIONS, description="{cents of one note or coin: how many}"),
]
Currency = Annotated[str, Meta(pattern="^[A-Z]{3}$")]


class RegisterIn(msgspec.Struct, kw_only=True):
    point_of_sale_id: Id
    name: Text
    currency: Currency | None = "EUR"


class Register(Reply):
    id: int
    point_of_sale_id: int
    point_of_sale: str
    name: str
    currency: str
    last_receipt: int
    open_session_id: int | None
    open_cashier_id: int | None


class Registers(Reply):
    registers: list[Register]


class CountIn(msgspec.Struct, kw_only=True):
    """Cash counted by denomination."""

    counted: Counted


class OperationIn(msgspec.Struct, kw_only=True):
    kind: Literal["credit", "debit", "credit_error", "debit_error"]
    amount_cents: Cents
    reason: Text


class Operation(Reply):
    journal_id: int
    register_id: int
    receipt_no: int
    kind: str
    amount_cents: int
    currency: str


class KindTotal(Reply):
    kind: str
    entries: int
    total_cents: int
    cash_cents: int
    card_cents: int


class TariffTotal(Reply):
    tariff_id: int | None
    description: str
    tickets: int
    gross_cents: int


class ArticleTotal(Reply):
    article_id: int
    description: str
    units: int
    """Units sold less units refunded."""
    gross_cents: int


class PassTotal(Reply):
    pass_type_id: int | None
    description: str
    """The pass type's name."""
    passes: int
    """Passes sold less passes refunded."""
    gross_cents: int


class RateTotal(Reply):
    tax_rate_bp: int
    net_cents: int
    tax_cents: int
    gross_cents: int


class Report(Reply):
    cash_sales_cents: int
    card_sales_cents: int
    cash_refunds_cents: int
    card_refunds_cents: int
    cash_received_cents: int
    """Cash sales less cash refunds."""
    expected_cash_cents: int | None
    """Float + cash sales - cash refunds ± cash operations; withheld from the cashier while
    the session is open (the count is blind)."""
    by_kind: list[KindTotal]
    tickets_by_tariff: list[TariffTotal]
    articles: list[ArticleTotal]
    passes: list[PassTotal]
    tax_by_rate: list[RateTotal]


class RegisterSession(Reply):
    id: int
    register_id: int
    cashier_id: int
    cashier: str
    currency: str
    opened_at: Timestamp
    opening_counted: dict[str, int] | None
    opening_cents: int
    handed_over_from: int | None
    closed_at: Timestamp | None
    closed_by: int | None
    counted: dict[str, int] | None
    counted_cents: int | None
    expected_cents: int | None
    difference_cents: int | None
    z_number: int | None
    z_hash: str | None
    """The register's chain head at the close (printed on the Z report)."""
    report: Report | None = None


class RegisterSessions(Reply):
    sessions: list[RegisterSession]
    next_offset: int | None


class Handover(Reply):
    closed: RegisterSession
    opened: RegisterSession


class LineTicket(Reply):
    """Where a ticket line's ticket is for (read from the ticket, not journalled)."""

    session_id: int
    event: str
    starts_at: str
    row: str | None
    """Null for a general-admission place."""
    seat: str | None


class JournalLine(Reply):
    line_no: int
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
    ticket: LineTicket | None
    """A ticket's line: its session and seat."""


class JournalPayment(Reply):
    method: Literal["cash", "card", "wallet"]
    amount_cents: int
    given_cents: int | None
    change_cents: int | None


class JournalEntry(Reply):
    id: int
    register_id: int
    receipt_no: int
    register_session_id: int
    cashier_id: int
    kind: str
    created_at: Timestamp
    currency: str
    total_cents: int
    net_cents: int
    tax_cents: int
    order_id: int | None
    reverses_id: int | None
    reason: str | None
    hash: str
    lines: list[JournalLine]
    payments: list[JournalPayment]


class Journal(Reply):
    entries: list[JournalEntry]
    next_offset: int | None


Quantity = Annotated[int, Meta(ge=1, le=10_000)]


class ArticleItem(msgspec.Struct, kw_only=True):
    article_id: Id
    quantity: Quantity


class ArticleSaleIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    """A retry with the same key returns the first sale's entry."""
    items: Annotated[list[ArticleItem], Meta(min_length=1, max_length=100)]
    payments: Annotated[list[DeskPaymentIn], Meta(min_length=1, max_length=10)]
    """Cash, card, or from the wallet of a pass's or ticket's code (one at most)."""


class RefundIn(msgspec.Struct, kw_only=True):
    register_session_id: Id
    """The caller's open register session, which pays the refund out."""
    ticket_ids: Annotated[list[Id], Meta(min_length=1, max_length=100)] | None = None
    """Some tickets of the sale."""
    articles: Annotated[list[ArticleItem], Meta(min_length=1, max_length=100)] | None = None
    """Some units of some articles of the sale."""
    pass_ids: Annotated[list[Id], Meta(min_length=1, max_length=100)] | None = None
    """Some passes of the sale. Neither tickets, articles nor passes: all that is left of
    the sale."""
    method: Literal["cash", "card", "wallet"] | None = "cash"
    """`wallet`: back to the wallet that paid the sale (at most what it paid)."""


class RefundedTicket(Reply):
    id: int
    status: Literal["refunded"]
    revoked: str


class RefundedArticle(Reply):
    article_id: int
    quantity: int


class Refund(Reply):
    journal_id: int
    register_id: int
    register_session_id: int
    receipt_no: int
    total_cents: int
    currency: str
    tickets: list[RefundedTicket]
    """The tickets refunded, the unused bookings of a refunded pass included."""
    articles: list[RefundedArticle]
    passes: list[int]
    """The passes refunded (their codes are refused at the door)."""
    wallet: WalletPaid | None = None
    """`method: wallet`: the wallet credited back, and its balance."""


# -- reservations at the desk ---------------------------------------------------------------


class ReservedTicket(Reply):
    id: int
    seat_id: str | None
    tariff_id: int
    tariff: str
    price_cents: int


class ReservationFound(Reply):
    id: int
    """The reservation number (its order)."""
    session_id: int
    event_name: str
    starts_at: Timestamp
    buyer_name: str | None
    total_cents: int
    """What is due: the active tickets' prices."""
    currency: str
    created_at: Timestamp
    tickets: list[ReservedTicket]


class ReservationsFound(Reply):
    reservations: list[ReservationFound]


class PayReservationIn(msgspec.Struct, kw_only=True):
    register_session_id: Id
    """The caller's open register session, which takes the payment."""
    payments: Annotated[list[DeskPaymentIn], Meta(min_length=1, max_length=10)]
    idempotency_key: IdempotencyKey
    """A retry with the same key returns the first receipt."""


class ReservationPaid(Reply):
    journal_id: int
    register_id: int
    register_session_id: int
    receipt_no: int
    order_id: int
    total_cents: int
    currency: str
    wallet: WalletPaid | None = None
    """The wallet payment, when part of it was paid from a wallet."""


Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT_PATTERN)]
Photo = Annotated[
    str,
    Meta(
        max_length=64 * 1024,
        description="data:image/png|jpeg|webp|gif;base64,... (64 KiB at most) or an https URL",
    ),
]


class PassSaleIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    """A retry with the same key returns the first sale."""
    pass_type_id: Id
    holder_first_name: Name
    holder_last_name: Name
    photo: Photo | None = None
    payments: Annotated[list[PaymentIn], Meta(min_length=1, max_length=10)]


class SoldPass(Reply):
    pass_: dict[str, Any] = msgspec.field(name="pass")
    """The pass as `GET /api/passes/{id}` shows it, with its signed `code` (for the QR
    code). The cash desk does not import the door's models: see its `Pass`."""
    receipt: JournalEntry
