"""The door channel ``door:<session_id>``: live counters, new entries and exits, revocations.

Every counted scan publishes the session's counters on its Redis door channel (see
``server/live_door.py``); each process relays them to its local subscribers, coalesced over
the batching window and encoded once per encoding, like the seat-map hub. Scanners use the
``entries``, ``exits`` and ``revoked`` lists to keep their offline lists fresh while online.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis

from server.errors import ApiError
from server.live import REDIS_DOWN
from server.live_door import DoorLive, counters_json, door_channel, session_of_door_channel
from server.protocol import ChannelKind, ServerType
from server.subscriber import Encoded, OutFrame, Subscriber

log = logging.getLogger(__name__)


@dataclass
class DoorFeed:
    session_id: int
    subscribers: set[Subscriber] = field(default_factory=set)
    door_rates: dict[str, int] = field(default_factory=dict)
    counters: dict[str, Any] | None = None
    entries: list[Any] = field(default_factory=list)
    exits: list[Any] = field(default_factory=list)
    revoked: list[str] = field(default_factory=list)
    flushing: bool = False

    @property
    def channel(self) -> str:
        return f"{ChannelKind.DOOR.value}:{self.session_id}"


def door_message(
    channel: str, counters: dict[str, Any], entries: list[Any], exits: list[Any]
) -> dict[str, Any]:
    return {
        "type": ServerType.DOOR.value,
        "channel": channel,
        "counters": counters,
        "entries": entries,
        "exits": exits,
    }


class DoorFeeds:
    def __init__(self, client: redis.Redis, door_live: DoorLive, batch_window_ms: int) -> None:
        self.redis = client
        self.door_live = door_live
        self.window = batch_window_ms / 1000
        self.feeds: dict[int, DoorFeed] = {}
        self._pubsub: Any = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        self._task = asyncio.create_task(self._reader())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        if self._pubsub is not None:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()

    async def subscribe(self, sub: Subscriber, session_id: int) -> None:
        feed = self.feeds.get(session_id)
        if feed is None:
            feed = self.feeds[session_id] = DoorFeed(session_id)
            try:
                await self._pubsub.subscribe(door_channel(session_id))
            except REDIS_DOWN as exc:
                self.feeds.pop(session_id, None)
                raise ApiError(503, "unavailable", "the live service is unavailable") from exc
        sub.hold_back(feed.channel)
        feed.subscribers.add(sub)
        try:
            counters = await self.door_live.counters(session_id)
        except BaseException:
            self.unsubscribe(sub, session_id)
            sub.release(feed.channel, None)
            raise
        sub.release(
            feed.channel, OutFrame.of(sub.codec, door_message(feed.channel, counters, [], []))
        )

    def unsubscribe(self, sub: Subscriber, session_id: int) -> bool:
        feed = self.feeds.get(session_id)
        if feed is None or sub not in feed.subscribers:
            return False
        feed.subscribers.discard(sub)
        if not feed.subscribers:
            self.feeds.pop(session_id, None)
            with contextlib.suppress(Exception):
                asyncio.get_running_loop().create_task(
                    self._pubsub.unsubscribe(door_channel(session_id))
                )
        return True

    def forget(self, sub: Subscriber) -> None:
        for session_id in list(self.feeds):
            self.unsubscribe(sub, session_id)

    async def _reader(self) -> None:
        while True:
            try:
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                if message is not None and message["type"] == "message":
                    self._on_message(message)
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN:
                log.warning("door pub/sub connection lost; resubscribing")
                await asyncio.sleep(0.2)
                await self._resubscribe()
            except Exception:
                log.exception("door feed reader error")
                await asyncio.sleep(0.1)

    async def _resubscribe(self) -> None:
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()
        self._pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
        for session_id in list(self.feeds):
            with contextlib.suppress(*REDIS_DOWN):
                await self._pubsub.subscribe(door_channel(session_id))

    def _on_message(self, message: dict[str, Any]) -> None:
        channel = message["channel"]
        if isinstance(channel, bytes):
            channel = channel.decode()
        feed = self.feeds.get(session_of_door_channel(channel))
        if feed is None:
            return
        payload = json.loads(message["data"])
        if "counters" in payload:
            feed.door_rates.update(payload.get("door_rates") or {})
            feed.counters = counters_json(
                feed.session_id, payload["counters"], payload.get("rate", 0), feed.door_rates
            )
            feed.entries.extend(payload.get("entries") or [])
            feed.exits.extend(payload.get("exits") or [])
        feed.revoked.extend(payload.get("revoked") or [])
        if not feed.flushing:
            feed.flushing = True
            asyncio.get_running_loop().call_later(self.window, self._flush, feed)

    def _flush(self, feed: DoorFeed) -> None:
        feed.flushing = False
        messages = []
        if feed.counters is not None:
            messages.append(
                Encoded(door_message(feed.channel, feed.counters, feed.entries, feed.exits))
            )
        if feed.revoked:
            messages.append(
                Encoded(
                    {
                        "type": ServerType.REVOKED.value,
                        "channel": feed.channel,
                        "codes": feed.revoked,
                    }
                )
            )
        feed.counters, feed.entries, feed.exits, feed.revoked = None, [], [], []
        for sub in list(feed.subscribers):
            for encoded in messages:
                sub.push(encoded.frame(sub.codec), feed.channel)
