"""The JSON shapes of holds and orders (msgspec models; ``/openapi.json`` carries their JSON
Schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from seatmap.best import MAX_BEST
from server.catalog.schemas import SeatId
from server.web.api import TEXT_PATTERN, Id, Reply, Text, Timestamp
from server.web.requests import INT_MAX

MAX_PLACES = 50
MAX_ORDER_LINES = 100  # seats or places in one order
MAX_ARTICLES = 100  # article items of one desk order
MAX_ARTICLE_UNITS = 10_000  # units of one article item

HoldToken = Annotated[
    str, Meta(pattern="^[A-Za-z0-9_-]{16,64}$", description="a hold token (the server's)")
]
HeldSeats = Annotated[list[SeatId], Meta(max_length=100)]
IdempotencyKey = Annotated[str, Meta(min_length=8, max_length=128, pattern=TEXT_PATTERN)]


class HoldIn(msgspec.Struct, kw_only=True):
    """`seats` (seated) or a `quantity` of places (general admission). Without `token` a
    new hold is made; with it, seats are added to that live hold."""

    seats: HeldSeats | None = None
    quantity: Annotated[int, Meta(ge=0, le=MAX_PLACES)] | None = 0
    token: HoldToken | None = None
    hold_seconds: Annotated[int, Meta(ge=1, le=INT_MAX)] | None = None
    """Shorter than the default hold time (new tokens only); longer is cut to it."""


class BestIn(msgspec.Struct, kw_only=True):
    """`quantity` seats chosen by the server: together in a row when possible, nearest the
    stage, leaving no lone seat. `tariff_id` limits them to the seat categories of that
    tariff; `accessible` asks for a wheelchair place (never offered otherwise)."""

    quantity: Annotated[int, Meta(ge=1, le=MAX_BEST)]
    tariff_id: Id | None = None
    accessible: bool | None = False
    token: HoldToken | None = None
    hold_seconds: Annotated[int, Meta(ge=1, le=INT_MAX)] | None = None


class HoldAdded(Reply):
    """What this request added to the hold."""

    token: str
    seats: list[str]
    quantity: int
    expires_at_ms: int
    expires_in_ms: int
    seq: int


class Hold(Reply):
    """Everything a hold token holds."""

    token: str
    seats: list[str]
    quantity: int
    expires_at_ms: int
    expires_in_ms: int
    cap_at_ms: int
    """The hold never lasts past this, however often it is extended."""


class ReleaseIn(msgspec.Struct, kw_only=True):
    """Seats and/or places to release; an empty body (or none of both) releases it all."""

    seats: HeldSeats | None = None
    quantity: Annotated[int, Meta(ge=0, le=INT_MAX)] | None = 0


class HoldReleased(Reply):
    token: str
    seq: int


class HoldExtended(Reply):
    token: str
    expires_at_ms: int
    expires_in_ms: int
    cap_at_ms: int


class OrderItem(msgspec.Struct, kw_only=True):
    """A seat (seated sessions) or `quantity` places (general admission), at a tariff."""

    seat: SeatId | UnsetType = UNSET
    tariff_id: Id
    quantity: Annotated[int, Meta(ge=1, le=MAX_ORDER_LINES)] | None = 1


class Buyer(msgspec.Struct, kw_only=True):
    name: Text | None = None
    email: Text | None = None


class PaymentIn(msgspec.Struct, kw_only=True):
    method: Literal["cash", "card"]
    amount_cents: Annotated[int, Meta(ge=0, le=INT_MAX)]
    given_cents: Annotated[int, Meta(ge=0, le=INT_MAX)] | None = None
    """Cash handed over (the change due is journalled)."""


class DeskPaymentIn(PaymentIn, kw_only=True):
    """A payment of tickets at the desk: also from a wallet (docs/wallet.md)."""

    method: Literal["cash", "card", "wallet"]  # type: ignore[assignment]
    code: Annotated[str, Meta(min_length=1, max_length=512)] | None = None
    """`wallet`: the code of the pass or ticket that carries the wallet."""


class OrderArticle(msgspec.Struct, kw_only=True):
    article_id: Id
    quantity: Annotated[int, Meta(ge=1, le=MAX_ARTICLE_UNITS)]


class OrderIn(msgspec.Struct, kw_only=True):
    hold_token: Text | None = None
    """The hold whose seats and places are bought; required unless `overbook`."""
    idempotency_key: IdempotencyKey | None = None
    """Required here or in the `Idempotency-Key` header."""
    items: Annotated[list[OrderItem], Meta(min_length=1, max_length=MAX_ORDER_LINES)]
    buyer: Buyer | None = None
    reservation: bool | None = False
    """pos, admin: book a reservation (released if not scanned in time) instead of a sale."""
    overbook: bool | None = False
    """sell.overbook, at a register: sell blocked seats or places past a full session's
    capacity, without a hold (audited)."""
    register_session_id: Id | None = None
    """A cashier's open register session: the sale is journalled there (docs/cash.md)."""
    payments: Annotated[list[DeskPaymentIn], Meta(min_length=1, max_length=10)] | None = None
    """With `register_session_id`: how it is paid; the amounts add up to the total."""
    articles: Annotated[list[OrderArticle], Meta(min_length=1, max_length=MAX_ARTICLES)] | None = (
        None
    )
    """With `register_session_id`: articles sold with the tickets, in the same journal
    entry (their stock taken in the order's transaction); the payments cover them too."""


class OrderTicket(Reply):
    id: int
    seat_idx: int | None
    seat_id: str | None
    tariff_id: int
    tariff: str
    price_cents: int
    status: Literal["active", "refunded", "cancelled"]


class WalletHolder(Reply):
    kind: Literal["pass", "ticket"]
    id: int
    name: str | None


class WalletPaid(Reply):
    """A desk sale's wallet payment: the ledger transaction and the balance it left."""

    transaction_id: int
    wallet_id: int
    holder: WalletHolder
    amount_cents: int
    balance_cents: int


class Receipt(Reply):
    """The journal entry of a desk sale."""

    journal_id: int
    register_id: int
    register_session_id: int
    receipt_no: int
    wallet: WalletPaid | None = None
    """The wallet payment, when part of the sale was paid from a wallet."""


class OrderPayment(Reply):
    """The online payment of a shop order (docs/payments.md)."""

    provider: str
    status: Literal["open", "succeeded", "failed", "abandoned", "refund_due", "refunded"]
    redirect_url: str | None
    """Where to send the buyer to pay, while the payment is open."""
    amount_cents: int
    currency: str


class Order(Reply):
    id: int
    session_id: int
    hold_token: str
    channel: Literal["web", "pos", "pass"]
    kind: Literal["sale", "reservation", "pass"]
    buyer_name: str | None
    total_cents: int
    currency: str
    created_at: Timestamp
    tickets: list[OrderTicket]
    receipt: Receipt | None = None
    """A desk sale's receipt (on the answer that created it)."""
    status: Literal["pending", "confirmed", "failed", "refunded"] = "confirmed"
    """A shop order with a total is `pending` (no tickets yet) until its payment is
    confirmed; `failed` when the payment failed or was abandoned; `refunded` when it was
    paid after its seats were gone (given back automatically)."""
    link: str | None = None
    """A shop order's private link: `/order.html#<link>` shows it with its tickets."""
    payment: OrderPayment | None = None
