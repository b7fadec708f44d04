"""Article families and articles: create, list, edit, and restock (a signed change of
stock with its reason, in the audit log). Sales and refunds change stock through
``server.articles.stock`` in the cash desk's transactions."""

from __future__ import annotations

from typing import Any

import asyncpg

from server.articles.stock import LEVEL_COLUMNS, Level, StockNews
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, NotFound

_ARTICLE = (
    "SELECT a.id, a.family_id, f.name AS family, a.name, a.price_cents, a.currency,"
    " a.tax_rate_bp, a.point_of_sale_id, a.stock, a.alert_at,"
    " (a.stock IS NOT NULL AND a.alert_at IS NOT NULL AND a.stock <= a.alert_at) AS alert,"
    " a.allow_negative, a.active, a.stock_version, a.sold_online"
    " FROM articles a JOIN article_families f ON f.id = a.family_id"
)
EDITABLE = (
    "family_id",
    "name",
    "price_cents",
    "currency",
    "tax_rate_bp",
    "point_of_sale_id",
    "alert_at",
    "allow_negative",
    "active",
    "sold_online",
)


async def _references(conn: asyncpg.Connection, fields: dict[str, Any]) -> None:
    """The family and point of sale named exist (404 otherwise)."""
    family = fields.get("family_id")
    if family is not None and not await conn.fetchval(
        "SELECT 1 FROM article_families WHERE id = $1", family
    ):
        raise NotFound("unknown_family", "no such article family")
    point = fields.get("point_of_sale_id")
    if point is not None and not await conn.fetchval(
        "SELECT 1 FROM points_of_sale WHERE id = $1", point
    ):
        raise NotFound("unknown_point_of_sale", "no such point of sale")


class ArticleCatalogue:
    def __init__(self, pool: asyncpg.Pool, news: StockNews) -> None:
        self.pool = pool
        self.news = news

    # -- families ----------------------------------------------------------------------------

    async def create_family(self, name: str, actor: Actor) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    "INSERT INTO article_families (name) VALUES ($1) RETURNING id, name", name
                )
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("family_exists", "a family is already so named") from exc
            await audit.record(conn, actor, "article_family.create", f"family:{row['id']}")
        return dict(row)

    async def rename_family(self, family_id: int, name: str, actor: Actor) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    "UPDATE article_families SET name = $2 WHERE id = $1 RETURNING id, name",
                    family_id,
                    name,
                )
            except asyncpg.UniqueViolationError as exc:
                raise Conflict("family_exists", "a family is already so named") from exc
            if row is None:
                raise NotFound.of("article family")
            await audit.record(conn, actor, "article_family.edit", f"family:{family_id}", name=name)
        return dict(row)

    async def families(self) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch("SELECT id, name FROM article_families ORDER BY name, id")
        return [dict(r) for r in rows]

    # -- articles ----------------------------------------------------------------------------

    async def create(self, fields: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """An article; ``stock`` None is not counted. A negative initial stock needs
        ``allow_negative``."""
        if fields.get("stock") is not None and fields["stock"] < 0 and not fields["allow_negative"]:
            raise Invalid("invalid_field", "a stock below zero needs allow_negative", field="stock")
        columns = [*EDITABLE, "stock"]
        async with connection(self.pool) as conn, conn.transaction():
            await _references(conn, fields)
            article_id = await conn.fetchval(
                f"INSERT INTO articles ({', '.join(columns)}) VALUES"
                f" ({', '.join(f'${n}' for n in range(1, len(columns) + 1))}) RETURNING id",
                *(fields[c] for c in columns),
            )
            await audit.record(
                conn, actor, "article.create", f"article:{article_id}", name=fields["name"]
            )
        return await self.article(article_id)

    async def edit(self, article_id: int, changes: dict[str, Any], actor: Actor) -> dict[str, Any]:
        """Change what ``changes`` names. A change of the alert threshold moves the stock
        version and is announced (the alert flag may have turned)."""
        changes = {k: v for k, v in changes.items() if k in EDITABLE}
        async with connection(self.pool) as conn, conn.transaction():
            await _references(conn, changes)
            sets = [f"{k} = ${n}" for n, k in enumerate(changes, start=2)]
            sets.append("stock_version = stock_version + 1")
            try:
                row = await conn.fetchrow(
                    f"UPDATE articles SET {', '.join(sets)} WHERE id = $1 RETURNING "
                    + LEVEL_COLUMNS,
                    article_id,
                    *changes.values(),
                )
            except asyncpg.CheckViolationError as exc:
                raise Conflict(
                    "stock_below_zero", "the stock is below zero: allow_negative stays on"
                ) from exc
            if row is None:
                raise NotFound.of("article")
            await audit.record(conn, actor, "article.edit", f"article:{article_id}", **changes)
        if row["stock"] is not None:
            await self.news.publish([Level.of(row)])
        return await self.article(article_id)

    async def restock(
        self, article_id: int, delta: int, reason: str, actor: Actor
    ) -> dict[str, Any]:
        """Add ``delta`` units (or take them out, negative) with a reason. Below zero only
        with ``allow_negative`` (409 ``stock_below_zero``); an article not counted has no
        stock to change (409 ``not_counted``)."""
        if delta == 0:
            raise Invalid("invalid_field", "a change of stock is not zero", field="delta")
        async with connection(self.pool) as conn, conn.transaction():
            try:
                row = await conn.fetchrow(
                    "UPDATE articles SET stock = stock + $2, stock_version = stock_version + 1"
                    " WHERE id = $1 AND stock IS NOT NULL AND (allow_negative OR stock + $2 >= 0)"
                    " RETURNING " + LEVEL_COLUMNS,
                    article_id,
                    delta,
                )
            except asyncpg.NumericValueOutOfRangeError as exc:
                message = "the stock would be out of range"
                raise Invalid("invalid_field", message, field="delta") from exc
            if row is None:
                await _restock_refused(conn, article_id)
            await audit.record(
                conn,
                actor,
                "article.restock",
                f"article:{article_id}",
                delta=delta,
                reason=reason,
                stock=row["stock"],
            )
        await self.news.publish([Level.of(row)])
        return await self.article(article_id)

    async def article(self, article_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(_ARTICLE + " WHERE a.id = $1", article_id)
        if row is None:
            raise NotFound.of("article")
        return dict(row)

    async def articles(
        self, point_of_sale_id: int | None, family_id: int | None, active_only: bool
    ) -> list[dict[str, Any]]:
        """Articles by family and name; with a point of sale, those sold there (its own and
        the ones sold everywhere)."""
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                _ARTICLE + " WHERE ($1::bigint IS NULL OR a.point_of_sale_id IS NULL"
                " OR a.point_of_sale_id = $1) AND ($2::bigint IS NULL OR a.family_id = $2)"
                " AND (NOT $3 OR a.active) ORDER BY f.name, a.name, a.id",
                point_of_sale_id,
                family_id,
                active_only,
            )
        return [dict(r) for r in rows]


async def _restock_refused(conn: asyncpg.Connection, article_id: int) -> None:
    row = await conn.fetchrow("SELECT stock FROM articles WHERE id = $1", article_id)
    if row is None:
        raise NotFound.of("article")
    if row["stock"] is None:
        raise Conflict("not_counted", "this article's stock is not counted")
    raise Conflict("stock_below_zero", "not that many in stock", stock=row["stock"])
