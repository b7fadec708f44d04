"""The bar sales feed: channel ``bars:0``, wallet debits per minute and per bar for the
organiser's dashboard (0: every bar; the number is kept for a future organiser id).

The figures are ``bar_sales_minutes`` (migration ``0018_bar_sales.sql``), kept by a trigger
in each ledger transaction, so they are exactly the ledger's. The first frame is the last
``WINDOW_MINUTES``; then every ``RECHECK_S`` the feed re-reads the last two minutes and
sends the rows that moved. Every process reads for its own subscribers; nothing goes
through Redis, so nothing can be lost between a commit and an announcement.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from server.identity.permissions import Permission
from server.platform.db import connection
from server.platform.errors import NotFound
from server.realtime.channels import Feed, SubscribeOptions, Topic
from server.realtime.protocol import ChannelKind, ServerType
from server.realtime.subscriber import Encoded, OutFrame, Subscriber

RECHECK_S = 2.0
WINDOW_MINUTES = 60
EVERY_BAR = 0

_ROWS = """
SELECT b.point_of_sale_id, p.name, b.minute, b.currency, b.debits, b.amount_cents
FROM bar_sales_minutes b JOIN points_of_sale p ON p.id = b.point_of_sale_id
WHERE b.minute >= date_trunc('minute', now()) - make_interval(mins => $1)
ORDER BY b.minute, b.point_of_sale_id
"""

Key = tuple[int, str, str]


def row_json(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "point_of_sale_id": r["point_of_sale_id"],
        "bar": r["name"],
        "minute": r["minute"].isoformat(),
        "currency": r["currency"],
        "debits": r["debits"],
        "amount_cents": r["amount_cents"],
    }


def bar_sales_message(channel: str, rows: list[dict[str, Any]], full: bool) -> dict[str, Any]:
    return {"type": ServerType.BAR_SALES.value, "channel": channel, "full": full, "rows": rows}


class BarSalesTopic(Topic):
    def __init__(self, redis_channel: str, ident: int) -> None:
        super().__init__(redis_channel, ident)
        self.sent: dict[Key, tuple[int, int]] = {}
        self.checked = 0.0


class BarSalesFeed(Feed[BarSalesTopic]):
    access = {ChannelKind.BARS: (Permission.STATS_READ, Permission.ACCOUNTING_READ)}
    ident_name = "organiser"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def topic_name(self, ident: int) -> str:
        return f"gq:bars:{ident}"

    def new_topic(self, ident: int) -> BarSalesTopic:
        return BarSalesTopic(self.topic_name(ident), ident)

    async def check(self, ident: int) -> None:
        if ident != EVERY_BAR:
            raise NotFound("unknown_channel", "bars:0 is every bar")

    async def _rows(self, minutes: int) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            return [row_json(r) for r in await conn.fetch(_ROWS, minutes)]

    @staticmethod
    def _key(row: dict[str, Any]) -> Key:
        return (row["point_of_sale_id"], row["minute"], row["currency"])

    async def prepare(self, topic: BarSalesTopic) -> None:
        rows = await self._rows(WINDOW_MINUTES)
        topic.sent = {self._key(r): (r["debits"], r["amount_cents"]) for r in rows}
        topic.checked = time.monotonic()

    async def first_frame(
        self, topic: BarSalesTopic, sub: Subscriber, kind: ChannelKind, options: SubscribeOptions
    ) -> OutFrame:
        rows = await self._rows(WINDOW_MINUTES)
        return OutFrame.of(sub.codec, bar_sales_message(topic.local(kind), rows, full=True))

    def accept(self, topic: BarSalesTopic, data: bytes) -> bool:
        return False  # nothing is published: the feed re-reads

    def flush(self, topic: BarSalesTopic) -> None:
        return None

    async def resync(self, topic: BarSalesTopic) -> None:
        """Send the rows of the last two minutes that moved since they were last sent."""
        topic.checked = time.monotonic()
        moved = []
        for row in await self._rows(2):
            value = (row["debits"], row["amount_cents"])
            if topic.sent.get(self._key(row)) != value:
                topic.sent[self._key(row)] = value
                moved.append(row)
        if moved:
            channel = topic.local(ChannelKind.BARS)
            topic.push(ChannelKind.BARS, Encoded(bar_sales_message(channel, moved, full=False)))

    async def watch(self, topics: Sequence[BarSalesTopic]) -> None:
        now = time.monotonic()
        for topic in topics:
            if topic.ready.is_set() and now - topic.checked >= RECHECK_S:
                await self.resync(topic)
