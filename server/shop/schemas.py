"""The JSON shapes of the shop's cart (msgspec models; ``/openapi.json`` carries their JSON
Schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.catalog.schemas import SeatId
from server.payments.schemas import OrderStatus, PaymentStatus
from server.sales.schemas import MAX_ORDER_LINES, HoldToken, IdempotencyKey
from server.web.api import TEXT_PATTERN, Id, Reply, Timestamp
from server.web.requests import INT_MAX

CartToken = Annotated[
    str, Meta(pattern="^[A-Za-z0-9_-]{16,64}$", description="a cart's id (the buyer's token)")
]
Name = Annotated[str, Meta(min_length=1, max_length=100, pattern=TEXT_PATTERN)]
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern="^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$")]


class CartIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    hold_seconds: Annotated[int, Meta(ge=1, le=INT_MAX)] | None = None
    """Shorter than the shop's hold time; longer is cut to it."""


class CartItem(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A seat with its tariff, or a quantity of general-admission places."""

    tariff_id: Id
    seat: SeatId | None = None
    quantity: Annotated[int, Meta(ge=1, le=MAX_ORDER_LINES)] = 1


class CartSessionIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    hold_token: HoldToken
    """The hold that keeps these seats (``POST /api/sessions/{id}/holds``)."""
    items: Annotated[list[CartItem], Meta(min_length=1, max_length=MAX_ORDER_LINES)]


class CartPassIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    pass_type_id: Id
    holder_first_name: Name
    holder_last_name: Name
    photo: Annotated[str, Meta(max_length=70_000)] | None = None
    """A ``data:image/…;base64,`` URL (at most 64 KiB) or an ``https://`` URL; optional."""


class CartArticleIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    quantity: Annotated[int, Meta(ge=0, le=100)]
    """0 takes the article out of the cart."""


class BuyerIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    name: Name
    email: Email


class CheckoutIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    idempotency_key: IdempotencyKey
    buyer: BuyerIn


class CartLine(Reply):
    seat: str | None
    """The seat's id; null for a general-admission place."""
    tariff_id: int
    tariff: str
    note: str
    """The tariff's eligibility note (e.g. a student card checked at the door)."""
    price_cents: int


class CartSession(Reply):
    session_id: int
    event_name: str
    starts_at: Timestamp
    hold_token: str
    lines: list[CartLine]
    subtotal_cents: int
    currency: str


class CartPass(Reply):
    line_id: int
    pass_type_id: int
    name: str
    holder_first_name: str
    holder_last_name: str
    has_photo: bool
    price_cents: int


class CartArticle(Reply):
    line_id: int
    article_id: int
    name: str
    quantity: int
    price_cents: int
    """Of one unit."""


class Cart(Reply):
    id: str
    status: Literal["open", "expired", "checked_out"]
    expires_at_ms: int
    """The one countdown: every hold of the cart is released then."""
    expires_in_ms: int
    cap_at_ms: int
    order_id: int | None
    sessions: list[CartSession]
    passes: list[CartPass]
    articles: list[CartArticle]
    total_cents: int
    """At today's prices; the checkout prices the cart again."""
    currency: str | None


class CartPayment(Reply):
    provider: str
    status: PaymentStatus
    redirect_url: str | None
    amount_cents: int
    currency: str


class CartOrder(Reply):
    id: int
    status: OrderStatus
    channel: Literal["web"]
    kind: Literal["cart"]
    buyer_name: str | None
    buyer_email: str | None
    total_cents: int
    currency: str
    created_at: Timestamp
    tickets: int
    """Tickets delivered so far (0 while the payment is pending)."""
    link: str
    """The order page's private link (``/order.html#<link>``)."""
    payment: CartPayment | msgspec.UnsetType = msgspec.UNSET


class OfferPassType(Reply):
    id: int
    name: str
    price_cents: int
    currency: str
    valid_from: Timestamp | None
    valid_until: Timestamp | None
    session_ids: list[int]
    max_sessions: int | None


class OfferArticle(Reply):
    id: int
    name: str
    family: str
    price_cents: int
    currency: str
    stock: int | None
    """Units left; null when not counted."""


class Offers(Reply):
    pass_types: list[OfferPassType]
    articles: list[OfferArticle]
