"""Article stock: taken by a sale and given back by a refund inside the caller's
transaction, read for the live channel, and announced on Redis after the commit.

A sale takes each article with one conditional ``UPDATE`` (the row lock is held to the
commit): the guard ``stock IS NULL OR allow_negative OR stock >= quantity`` decides, so of
concurrent sales of the last units exactly as many as there are units commit, and a
refused sale changes nothing. The table's CHECK (``stock >= 0 OR allow_negative``) is the
last line behind the guard. Articles are taken in id order, so two sales never wait for
each other in a cycle.

Every change of stock moves the article's ``stock_version``; a live message carries it, so
a client keeps the newest value whatever order messages arrive in. Redis learns of a
change only after the commit; a lost message (a process dying before it publishes, Redis
down) is repaired by the stock feed's periodic re-read (``server/articles/feed.py``).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from server.platform.db import DB_DOWN
from server.platform.errors import Conflict, Invalid, NotFound
from server.platform.failpoints import FailpointError, failpoint, switched_off
from server.platform.redis_client import Client
from server.platform.scripts import REDIS_DOWN

log = logging.getLogger(__name__)

GUARD = "articles.stock_guard"
"""The failpoint that switches the guard off (a race test's control)."""
PUBLISH_TIMEOUT_S = 2.0
LEVEL_COLUMNS = (
    "id, point_of_sale_id, stock, stock_version,"
    " (stock IS NOT NULL AND alert_at IS NOT NULL AND stock <= alert_at) AS alert"
)


def stock_channel(point_of_sale_id: int) -> str:
    """The Redis pub/sub channel of a point of sale's stock."""
    return f"gq:stock:{point_of_sale_id}"


@dataclass(frozen=True, slots=True)
class Level:
    """An article's counted stock as the live channel shows it."""

    article_id: int
    point_of_sale_id: int | None
    stock: int
    alert: bool
    version: int

    @classmethod
    def of(cls, row: asyncpg.Record) -> Level:
        return cls(
            row["id"], row["point_of_sale_id"], row["stock"], row["alert"], row["stock_version"]
        )

    def json(self) -> dict[str, Any]:
        return {
            "id": self.article_id,
            "stock": self.stock,
            "alert": self.alert,
            "version": self.version,
        }


@dataclass(frozen=True, slots=True)
class Taken:
    """An article a sale took, with what the journal line needs."""

    article_id: int
    name: str
    quantity: int
    price_cents: int
    currency: str
    tax_rate_bp: int
    level: Level | None  # None: not counted


_TAKE = (
    "UPDATE articles SET stock = stock - $2,"
    " stock_version = stock_version + CASE WHEN stock IS NULL THEN 0 ELSE 1 END"
    " WHERE id = $1 AND active AND ($3 OR stock IS NULL OR allow_negative OR stock >= $2)"
    " RETURNING name, price_cents, currency, tax_rate_bp, " + LEVEL_COLUMNS
)


async def take(
    conn: asyncpg.Connection, wanted: Mapping[int, int], point_of_sale_id: int | None
) -> list[Taken]:
    """Take ``{article id: quantity}`` from stock (in the caller's transaction) for a sale
    at ``point_of_sale_id``, or online (None: articles of every point of sale). Raises
    ``out_of_stock`` with every article short and what is left; the caller's rollback
    undoes what was taken."""
    guard_off = switched_off(GUARD)
    taken: list[Taken] = []
    short: list[dict[str, Any]] = []
    for article_id, quantity in sorted(wanted.items()):
        try:
            row = await conn.fetchrow(_TAKE, article_id, quantity, guard_off)
        except asyncpg.CheckViolationError as exc:  # only with the guard off
            raise Conflict(
                "out_of_stock",
                "not enough in stock",
                articles=[{"article_id": article_id, "requested": quantity, "stock": None}],
            ) from exc
        if row is None:
            short.append(await _refused(conn, article_id, quantity))
            continue
        if point_of_sale_id is not None and row["point_of_sale_id"] not in (
            None,
            point_of_sale_id,
        ):
            raise Conflict(
                "article_not_here", "this article is not sold here", article_id=article_id
            )
        level = None if row["stock"] is None else Level.of(row)
        taken.append(
            Taken(
                article_id,
                row["name"],
                quantity,
                row["price_cents"],
                row["currency"],
                row["tax_rate_bp"],
                level,
            )
        )
    if short:
        raise Conflict("out_of_stock", "not enough in stock", articles=short)
    return taken


async def articles_total(conn: asyncpg.Connection, wanted: Mapping[int, int], currency: str) -> int:
    """What ``{article id: quantity}`` costs now, refusing early what ``take`` would
    (unknown, inactive, another currency); the stock itself is decided by ``take``."""
    rows = {
        r["id"]: r
        for r in await conn.fetch(
            "SELECT id, active, price_cents, currency FROM articles WHERE id = ANY($1::bigint[])",
            list(wanted),
        )
    }
    for article_id in sorted(wanted):
        row = rows.get(article_id)
        if row is None:
            raise NotFound("unknown_article", "no such article", article_id=article_id)
        if not row["active"]:
            raise Conflict("article_inactive", "this article is not sold", article_id=article_id)
        if row["currency"] != currency:
            raise Invalid("currency_mismatch", f"this register takes {currency}")
    return sum(rows[a]["price_cents"] * q for a, q in wanted.items())


async def _refused(conn: asyncpg.Connection, article_id: int, quantity: int) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT active, stock FROM articles WHERE id = $1", article_id)
    if row is None:
        raise NotFound("unknown_article", "no such article", article_id=article_id)
    if not row["active"]:
        raise Conflict("article_inactive", "this article is not sold", article_id=article_id)
    return {"article_id": article_id, "requested": quantity, "stock": row["stock"]}


_RESTORE = (
    "UPDATE articles SET stock = stock + $2,"
    " stock_version = stock_version + CASE WHEN stock IS NULL THEN 0 ELSE 1 END"
    " WHERE id = $1 RETURNING " + LEVEL_COLUMNS
)


async def restore(conn: asyncpg.Connection, returned: Mapping[int, int]) -> list[Level]:
    """Give ``{article id: quantity}`` back to stock (a refund, in the caller's
    transaction); the counted ones' new levels."""
    levels = []
    for article_id, quantity in sorted(returned.items()):
        row = await conn.fetchrow(_RESTORE, article_id, quantity)
        if row is not None and row["stock"] is not None:
            levels.append(Level.of(row))
    return levels


async def levels(conn: asyncpg.Connection, point_of_sale_id: int) -> list[Level]:
    """The counted, active articles sold at a point of sale (its own and everywhere's)."""
    rows = await conn.fetch(
        "SELECT " + LEVEL_COLUMNS + " FROM articles WHERE active AND stock IS NOT NULL"
        " AND (point_of_sale_id IS NULL OR point_of_sale_id = $1) ORDER BY id",
        point_of_sale_id,
    )
    return [Level.of(r) for r in rows]


def check_quantities(items: Iterable[tuple[int, int]]) -> dict[int, int]:
    """``(article id, quantity)`` pairs summed per article (one journal line each)."""
    wanted: dict[int, int] = {}
    for article_id, quantity in items:
        wanted[article_id] = wanted.get(article_id, 0) + quantity
    if any(q > 1_000_000 for q in wanted.values()):
        raise Invalid("invalid_field", "too many units of one article", field="items")
    return wanted


class StockNews:
    """Tells every process's stock feed, through Redis, which levels changed (after the
    commit: a level Redis announces is always committed)."""

    def __init__(self, pool: asyncpg.Pool, client: Client) -> None:
        self.pool = pool
        self.client = client

    async def publish(self, changed: Sequence[Level]) -> None:
        """Announce ``changed`` on the channel of each point of sale that sells them (every
        point of sale for an article sold everywhere). Never raises: a lost announcement
        is repaired by the feeds' re-read."""
        if not changed:
            return
        try:
            await failpoint("articles.publish")
            await asyncio.wait_for(self._publish(changed), PUBLISH_TIMEOUT_S)
        except (*REDIS_DOWN, *DB_DOWN, FailpointError) as exc:
            log.warning("stock not announced (%s); the feeds re-read it", type(exc).__name__)

    async def _publish(self, changed: Sequence[Level]) -> None:
        everywhere = [lv for lv in changed if lv.point_of_sale_id is None]
        by_point: dict[int, list[Level]] = {}
        if everywhere:
            async with self.pool.acquire() as conn:
                points = await conn.fetch("SELECT id FROM points_of_sale")
            for p in points:
                by_point[p["id"]] = list(everywhere)
        for lv in changed:
            if lv.point_of_sale_id is not None:
                by_point.setdefault(lv.point_of_sale_id, []).append(lv)
        async with self.client.pipeline(transaction=False) as pipe:
            for point, items in by_point.items():
                pipe.spublish(
                    stock_channel(point), json.dumps({"articles": [i.json() for i in items]})
                )
            await pipe.execute()
