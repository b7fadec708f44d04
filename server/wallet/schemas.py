"""The JSON shapes of wallets, their movements and the bars' offline allowances."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import Meta

from server.sales.schemas import IdempotencyKey
from server.wallet.holders import MAX_CODE
from server.wallet.offline import MAX_UPLOAD
from server.wallet.service import MAX_AMOUNT
from server.web.api import Id, Reply, Text, Timestamp

Amount = Annotated[int, Meta(ge=1, le=MAX_AMOUNT, description="cents, positive")]
Code = Annotated[str, Meta(min_length=1, max_length=MAX_CODE, description="a ticket or pass code")]
TaxRate = Annotated[int, Meta(ge=0, le=10_000, description="basis points: 550 is 5.5 %")]
Device = Annotated[str, Meta(min_length=8, max_length=64, pattern="^[A-Za-z0-9_-]+$")]


class LookupIn(msgspec.Struct, kw_only=True):
    code: Code


class HolderOut(Reply):
    kind: Literal["pass", "ticket"]
    id: int
    name: str | None


class Movement(Reply):
    id: int
    kind: str
    amount_cents: int
    """Signed as the wallet sees it: a debit is negative."""
    balance_cents: int
    """The wallet's balance after it."""
    at: str
    offline: bool
    point_of_sale: str | None


class Wallet(Reply):
    id: int | None
    """None before the first top-up."""
    holder: HolderOut
    status: Literal["none", "active", "blocked", "closed"]
    currency: str | None
    balance_cents: int
    history: list[Movement] | None = None


class TopUpIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    code: Code
    amount_cents: Amount
    method: Literal["cash", "card"]
    given_cents: Annotated[int, Meta(ge=0, le=MAX_AMOUNT * 10)] | None = None
    """Cash handed over (the change due is journalled)."""
    register_session_id: Id
    """The caller's open register session, which takes the money."""


class DebitArticle(msgspec.Struct, kw_only=True):
    article_id: Id
    quantity: Annotated[int, Meta(ge=1, le=100)]


class DebitIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    code: Code
    register_id: Id
    """The bar's register (its point of sale is a bar)."""
    articles: Annotated[list[DebitArticle], Meta(min_length=1, max_length=50)] | None = None
    amount_cents: Amount | None = None
    """A free amount, instead of articles."""
    tax_rate_bp: TaxRate = 0
    """The free amount's tax rate."""


class Moved(Reply):
    transaction_id: int
    wallet_id: int
    holder: HolderOut
    amount_cents: int
    balance_cents: int
    """The wallet's balance after this movement."""
    journal_id: int
    receipt_no: int
    created_at: str


class StatusIn(msgspec.Struct, kw_only=True):
    status: Literal["active", "blocked"]


class WalletStatus(Reply):
    id: int
    status: str


class ReversalIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    reason: Text


class Reversed(Reply):
    transaction_id: int
    reverses_id: int
    amount_cents: int
    created_at: str


class AllowanceIn(msgspec.Struct, kw_only=True):
    device: Device
    """A random id the bar device keeps."""


class AllowanceOut(Reply):
    token: str
    """Signed: the device keeps it and uploads it with its offline debits."""
    register_id: int
    per_wallet_cents: int
    period_s: int
    expires_at: str


class OfflineDebit(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    code: Code
    amount_cents: Amount
    tax_rate_bp: TaxRate = 0
    taken_at: Timestamp


class UploadIn(msgspec.Struct, kw_only=True):
    allowance: Annotated[str, Meta(min_length=1, max_length=2_000)]
    debits: Annotated[list[OfflineDebit], Meta(min_length=1, max_length=MAX_UPLOAD)]


class UploadResult(Reply):
    key: str
    status: Literal["applied", "replayed", "refused"]
    code: str | None = None
    """Why it was refused (an unknown code…)."""
    beyond_allowance: bool | None = None
    overdraft: bool | None = None
    transaction_id: int | None = None
    wallet_id: int | None = None
    holder: HolderOut | None = None
    amount_cents: int | None = None
    balance_cents: int | None = None
    journal_id: int | None = None
    receipt_no: int | None = None
    created_at: str | None = None


class UploadOut(Reply):
    results: list[UploadResult]


class Overdraft(Reply):
    transaction_id: int
    wallet_id: int
    amount_cents: int
    currency: str
    balance_cents: int
    taken_at: str
    device: str | None
    beyond_allowance: bool
    point_of_sale: str | None
    waiter: str | None


class Overdrafts(Reply):
    overdrafts: list[Overdraft]


class BarArticle(Reply):
    id: int
    name: str
    family: str | None
    price_cents: int
    tax_rate_bp: int
    stock: int | None


class Bar(Reply):
    register_id: int
    name: str
    point_of_sale_id: int
    point_of_sale: str
    currency: str
    articles: list[BarArticle]


class Bars(Reply):
    bars: list[Bar]


class Leftover(Reply):
    wallet_id: int
    holder: str | None
    email: str | None
    currency: str
    balance_cents: int
    card_cents: int
    """What card top-ups put on it."""
    refund_to: Literal["card", "transfer"]
    last_used: str | None


class Leftovers(Reply):
    wallets: list[Leftover]
    next_offset: int | None


class SettleIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    how: Literal["card", "transfer", "breakage"]


class DonationIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    code: Code


class Settled(Reply):
    wallet_id: int
    how: str
    amount_cents: int
    transaction_id: int


class BreakageIn(msgspec.Struct, kw_only=True):
    idempotency_key: IdempotencyKey
    unused_since: Timestamp


class Breakage(Reply):
    wallets: int
    amount_cents: int
    settled: list[Settled]
