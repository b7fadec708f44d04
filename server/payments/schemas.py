"""The JSON shapes of the payment and order-page routes (``/openapi.json`` carries them)."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import Meta

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
    session: OrderSession
    tickets: list[OrderPageTicket]
