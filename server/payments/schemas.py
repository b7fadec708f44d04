"""The JSON shapes of the payment and order-page routes (``/openapi.json`` carries them)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.payments.buyers import BUYER_LINK_PATTERN, EMAIL_PATTERN
from server.payments.links import LINK_PATTERN
from server.web.api import Reply, Timestamp

OrderLinkToken = Annotated[
    str, Meta(pattern=LINK_PATTERN, description="an order's private link (`<id>.<mac>`)")
]
ProviderName = Annotated[str, Meta(pattern="^[a-z][a-z0-9_]{0,31}$")]
TestPaymentId = Annotated[str, Meta(pattern="^tp_[A-Za-z0-9_-]{16}$")]
OrderStatus = Literal["pending", "confirmed", "failed", "refunded"]
PaymentStatus = Literal["open", "succeeded", "failed", "abandoned", "refund_due", "refunded"]


class WebhookAnswer(Reply):
    changed: bool
    """False for a second delivery, or an event that no longer changes anything."""


class OrderSession(Reply):
    id: int
    event_name: str
    starts_at: Timestamp
    ends_at: Timestamp
    room: str


class OrderPageTicket(Reply):
    id: int
    status: Literal["active", "refunded", "cancelled"]
    seat_id: str | None
    row: str | None
    seat: str | None
    tariff: str
    price_cents: int
    code: str | None
    """The signed ticket code (what its QR code holds); null once it is not active."""
    session: OrderSession


class OrderProduct(Reply):
    """A pass or an article bought with a cart (docs/shop.md)."""

    description: str
    quantity: int
    gross_cents: int
    pass_id: int | None
    article_id: int | None


class OrderPage(Reply):
    """An order as its buyer sees it through its private link."""

    id: int
    status: OrderStatus
    payment_status: PaymentStatus | None
    payment_url: str | None
    """Where to pay while the payment is open."""
    buyer_name: str | None
    total_cents: int
    currency: str
    created_at: Timestamp
    session: OrderSession | None
    """The order's session; a cart's order: its first ticket's (each ticket names its own)."""
    tickets: list[OrderPageTicket]
    products: list[OrderProduct]


# -- "My tickets" ---------------------------------------------------------------------------

BuyerLinkToken = Annotated[
    str, Meta(pattern=BUYER_LINK_PATTERN, description="a buyer's sign-in link (`<id>.<mac>`)")
]
Email = Annotated[str, Meta(min_length=3, max_length=254, pattern=EMAIL_PATTERN)]


class SignInLinkIn(msgspec.Struct, forbid_unknown_fields=True):
    email: Email


class SignInLinkAnswer(Reply):
    status: Literal["sent_if_known"]
    """The same for every address: a link is mailed only when the address has orders."""
    valid_minutes: int


class BuyerLinkIn(msgspec.Struct, forbid_unknown_fields=True):
    token: BuyerLinkToken


class BuyerOrder(Reply):
    id: int
    link: OrderLinkToken
    """The order's private link: `/order.html#<link>`."""
    status: OrderStatus
    tickets: int
    products: int
    """Passes and articles of a cart's order."""
    total_cents: int
    currency: str
    created_at: Timestamp
    session: OrderSession | None
    """The session of its (first) ticket; none for a cart of passes and articles only."""


class BuyerOrders(Reply):
    """Every shop order of the signed-in address, latest session first (an order without a
    session by the time it was made)."""

    email: str
    expires_at: Timestamp
    """When the sign-in link stops working."""
    orders: list[BuyerOrder]


class LinkClosed(Reply):
    revoked: bool
