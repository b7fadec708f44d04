"""The stock feed: channel ``stock:<point_of_sale_id>``, the counted articles sold at a
point of sale with their stock and alert flag, a snapshot then changes.

The snapshot is always read from Postgres. Changes arrive from Redis (``StockNews``, after
each commit of a sale, refund, restock or edit) and are sent coalesced over the batching
window. Each level carries its article's ``stock_version``; the feed sends a level only if
it is newer than what it last sent, and a client keeps the newest it has seen, so order
does not matter. Every ``RECHECK_S`` (and after a lost pub/sub connection) the feed
re-reads the point of sale's levels and sends what moved meanwhile: a level whose
announcement was lost (a process that died between its commit and its publish, Redis
down at that moment) reaches every client within that delay.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import asyncpg

from server.articles.stock import Level, levels, stock_channel
from server.identity.permissions import Permission
from server.platform.db import connection
from server.platform.errors import NotFound
from server.realtime.channels import Feed, SubscribeOptions, Topic
from server.realtime.protocol import ChannelKind, ServerType
from server.realtime.subscriber import Encoded, OutFrame, Subscriber

RECHECK_S = 2.0


class StockTopic(Topic):
    def __init__(self, redis_channel: str, point_of_sale_id: int) -> None:
        super().__init__(redis_channel, point_of_sale_id)
        self.sent: dict[int, int] = {}  # article id -> newest version sent to every subscriber
        self.pending: dict[int, dict[str, Any]] = {}
        self.checked = 0.0


def stock_message(channel: str, items: list[dict[str, Any]], full: bool) -> dict[str, Any]:
    return {"type": ServerType.STOCK.value, "channel": channel, "full": full, "articles": items}


class StockFeed(Feed[StockTopic]):
    access = {ChannelKind.STOCK: Permission.SELL}
    ident_name = "point_of_sale_id"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    def topic_name(self, ident: int) -> str:
        return stock_channel(ident)

    def new_topic(self, ident: int) -> StockTopic:
        return StockTopic(stock_channel(ident), ident)

    async def check(self, ident: int) -> None:
        async with connection(self.pool) as conn:
            if not await conn.fetchval("SELECT 1 FROM points_of_sale WHERE id = $1", ident):
                raise NotFound("unknown_point_of_sale", "no such point of sale")

    async def _levels(self, point_of_sale_id: int) -> list[Level]:
        async with connection(self.pool) as conn:
            return await levels(conn, point_of_sale_id)

    async def prepare(self, topic: StockTopic) -> None:
        topic.sent = {lv.article_id: lv.version for lv in await self._levels(topic.ident)}
        topic.checked = time.monotonic()

    async def first_frame(
        self, topic: StockTopic, sub: Subscriber, kind: ChannelKind, options: SubscribeOptions
    ) -> OutFrame:
        items = [lv.json() for lv in await self._levels(topic.ident)]
        return OutFrame.of(sub.codec, stock_message(topic.local(kind), items, full=True))

    def accept(self, topic: StockTopic, data: bytes) -> bool:
        for item in json.loads(data).get("articles", []):
            known = topic.pending.get(item["id"])
            if known is None or item["version"] > known["version"]:
                topic.pending[item["id"]] = item
        return bool(topic.pending)

    def flush(self, topic: StockTopic) -> None:
        items, topic.pending = list(topic.pending.values()), {}
        self._send(topic, items)

    def _send(self, topic: StockTopic, items: list[dict[str, Any]]) -> None:
        """Send the levels newer than what was sent (absolute values: overlap is harmless)."""
        newer = [i for i in items if i["version"] > topic.sent.get(i["id"], 0)]
        if not newer:
            return
        for i in newer:
            topic.sent[i["id"]] = i["version"]
        channel = topic.local(ChannelKind.STOCK)
        topic.push(ChannelKind.STOCK, Encoded(stock_message(channel, newer, full=False)))

    async def resync(self, topic: StockTopic) -> None:
        """Announcements may have been lost: re-read and send what moved."""
        topic.checked = time.monotonic()
        self._send(topic, [lv.json() for lv in await self._levels(topic.ident)])

    async def watch(self, topics: Sequence[StockTopic]) -> None:
        now = time.monotonic()
        for topic in topics:
            if topic.ready.is_set() and now - topic.checked >= RECHECK_S:
                await self.resync(topic)
