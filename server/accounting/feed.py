"""The statistics feed: channel ``stats:0`` (0: every organiser, the only one today), the
statistics of a period (``stats.statistics``), sent on subscription and again whenever
they change.

A subscription names its period as ``GET /api/stats`` does (``"period": {"from", "to",
"tz"}``; without it, the current day in UTC). Subscribers of one period share a *view*:
every ``RECHECK_S`` the feed re-reads each view's figures from Postgres, off the
watchdog's loop, and sends them to the view's subscribers when they differ from what it
last sent. Nothing goes through Redis: each process reads for its own subscribers, so a
sale or a scan committed by any process shows within a few seconds everywhere, and
nothing can be lost between a commit and an announcement.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.accounting.period import Period, period_of
from server.accounting.stats import statistics
from server.identity.permissions import Permission
from server.platform.db import connection
from server.platform.errors import Invalid, NotFound
from server.realtime.channels import Feed, SubscribeOptions, Topic
from server.realtime.protocol import ChannelKind, ServerType
from server.realtime.subscriber import Encoded, OutFrame, Subscriber

log = logging.getLogger(__name__)

RECHECK_S = 3.0
MAX_VIEWS = 16
"""Distinct periods watched at once in one process (each is one query per ``RECHECK_S``)."""
EVERY_ORGANISER = 0

PeriodKey = tuple[datetime, datetime, str]


class View:
    """The subscribers of one period and what they were last sent."""

    def __init__(self, p: Period) -> None:
        self.period = p
        self.subscribers: set[Subscriber] = set()
        self.sent: dict[str, Any] | None = None
        self.checked = 0.0
        self.reading = False


class StatsTopic(Topic):
    def __init__(self, redis_channel: str, ident: int) -> None:
        super().__init__(redis_channel, ident)
        self.views: dict[PeriodKey, View] = {}


def stats_message(channel: str, p: Period, figures: dict[str, Any]) -> dict[str, Any]:
    bounds = {"from": p.start.isoformat(), "to": p.end.isoformat(), "tz": p.tz}
    return {"type": ServerType.STATS.value, "channel": channel, "period": bounds, "stats": figures}


def requested_period(extra: Mapping[str, Any]) -> Period:
    """The ``period`` of a subscription, bounded as the HTTP query is."""
    raw = extra.get("period")
    if raw is None:
        today = datetime.now(UTC).date().isoformat()
        return period_of({"from": today, "to": today})
    if not isinstance(raw, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= 64 for k, v in raw.items()
    ):
        raise Invalid("invalid_field", "'period' is {from, to, tz?} as strings", field="period")
    return period_of(raw)


class StatsFeed(Feed[StatsTopic]):
    access = {ChannelKind.STATS: Permission.STATS_READ}
    ident_name = "organiser"

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
        self._tasks: set[asyncio.Task[None]] = set()

    def topic_name(self, ident: int) -> str:
        return f"gq:stats:{ident}"

    def new_topic(self, ident: int) -> StatsTopic:
        return StatsTopic(self.topic_name(ident), ident)

    async def check(self, ident: int) -> None:
        if ident != EVERY_ORGANISER:
            raise NotFound("unknown_channel", "stats:0 is every organiser")

    async def _read(self, p: Period) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            return await statistics(conn, p)

    async def first_frame(
        self, topic: StatsTopic, sub: Subscriber, kind: ChannelKind, options: SubscribeOptions
    ) -> OutFrame:
        p = requested_period(options.extra)
        key = (p.start, p.end, p.tz)
        self._prune(topic)
        for view in topic.views.values():
            view.subscribers.discard(sub)  # subscribing again may change the period
        found = topic.views.get(key)
        if found is None:
            if len(topic.views) >= MAX_VIEWS:
                raise Invalid("too_many_periods", "too many periods are watched; try later")
            found = topic.views[key] = View(p)
        view = found
        figures = await self._read(p)
        view = topic.views.setdefault(key, view)  # pruned meanwhile: watched again
        if view.sent is None:
            view.sent, view.checked = figures, time.monotonic()
        view.subscribers.add(sub)
        return OutFrame.of(sub.codec, stats_message(topic.local(kind), p, figures))

    def accept(self, topic: StatsTopic, data: bytes) -> bool:
        return False  # nothing is published: the feed re-reads

    def flush(self, topic: StatsTopic) -> None:
        return None

    def _prune(self, topic: StatsTopic) -> None:
        """Forget subscribers that left the channel, and views nobody watches."""
        watching = topic.watchers(ChannelKind.STATS)
        for key, view in list(topic.views.items()):
            view.subscribers &= watching
            if not view.subscribers and not view.reading and view.sent is not None:
                del topic.views[key]

    async def _recheck(self, topic: StatsTopic, view: View) -> None:
        try:
            figures = await self._read(view.period)
        except Exception:
            log.exception("statistics of %s could not be read", view.period)
            return
        finally:
            view.reading, view.checked = False, time.monotonic()
        if figures == view.sent:
            return
        view.sent = figures
        channel = topic.local(ChannelKind.STATS)
        encoded = Encoded(stats_message(channel, view.period, figures))
        for sub in view.subscribers & topic.watchers(ChannelKind.STATS):
            sub.push(encoded.frame(sub.codec), channel)

    def _spawn(self, topic: StatsTopic, view: View) -> None:
        view.reading = True
        task = asyncio.create_task(self._recheck(topic, view))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def watch(self, topics: Sequence[StatsTopic]) -> None:
        now = time.monotonic()
        for topic in topics:
            if not topic.ready.is_set():
                continue
            self._prune(topic)
            for view in topic.views.values():
                if not view.reading and now - view.checked >= RECHECK_S:
                    self._spawn(topic, view)
