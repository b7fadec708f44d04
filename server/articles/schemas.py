"""The JSON shapes of article families, articles and their stock."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import UNSET, Meta, UnsetType

from server.web.api import Id, Reply, Text

MAX_STOCK = 1_000_000
Currency = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217")]
Price = Annotated[int, Meta(ge=0, le=10_000_000, description="gross cents (tax included)")]
TaxRate = Annotated[int, Meta(ge=0, le=10_000, description="basis points: 550 is 5.5 %")]
Stock = Annotated[int, Meta(ge=-MAX_STOCK, le=MAX_STOCK)]
AlertAt = Annotated[int, Meta(ge=0, le=MAX_STOCK, description="alert while stock <= this")]
Delta = Annotated[int, Meta(ge=-MAX_STOCK, le=MAX_STOCK, description="signed, not zero")]


class FamilyIn(msgspec.Struct, kw_only=True):
    name: Text


class Family(Reply):
    id: int
    name: str


class Families(Reply):
    families: list[Family]


class ArticleIn(msgspec.Struct, kw_only=True):
    family_id: Id
    name: Text
    price_cents: Price
    currency: Currency = "EUR"
    tax_rate_bp: TaxRate = 0
    point_of_sale_id: Id | None = None
    """Sold only at this point of sale; everywhere when left out."""
    stock: Stock | None = None
    """Units in stock; not counted (sold without limit) when left out."""
    alert_at: AlertAt | None = None
    allow_negative: bool = False
    active: bool = True
    sold_online: bool = False
    """Offered in the e-shop (docs/shop.md)."""


class ArticlePatch(msgspec.Struct, kw_only=True):
    """The fields to change; the stock changes only by ``POST …/stock``."""

    family_id: Id | UnsetType = UNSET
    name: Text | UnsetType = UNSET
    price_cents: Price | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    tax_rate_bp: TaxRate | UnsetType = UNSET
    point_of_sale_id: Id | UnsetType | None = UNSET
    alert_at: AlertAt | UnsetType | None = UNSET
    allow_negative: bool | UnsetType = UNSET
    active: bool | UnsetType = UNSET
    sold_online: bool | UnsetType = UNSET


class Article(Reply):
    id: int
    family_id: int
    family: str
    name: str
    price_cents: int
    currency: str
    tax_rate_bp: int
    point_of_sale_id: int | None
    stock: int | None
    alert_at: int | None
    alert: bool
    """The stock is counted and at or under ``alert_at``."""
    allow_negative: bool
    active: bool
    stock_version: int
    sold_online: bool


class Articles(Reply):
    articles: list[Article]


class RestockIn(msgspec.Struct, kw_only=True):
    delta: Delta
    """Units added (a delivery) or, negative, taken out (breakage, a count)."""
    reason: Text
