"""The door channel ``door:<session_id>``: live counters, new entries and exits, revocations.

Every counted scan publishes the session's counters on its Redis door channel (see
``server/live_door.py``); each process relays them to its local subscribers, coalesced over
the batching window and encoded once per encoding, like the seat-map hub. Scanners use the
``entries``, ``exits`` and ``revoked`` lists to keep their offline lists fresh while online.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass, field
from typing import Any

import redis.asyncio as redis

from server.errors import ApiError
from server.live_door import DoorLive, counters_json, door_channel, session_of_door_channel
from server.protocol import ChannelKind, ServerType
from server.pubsub import Relay
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
        self.relay = Relay(client, self._on_message, on_reconnect=self._refresh_all)
        self._background: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        await self.relay.start()

    async def stop(self) -> None:
        await self.relay.stop()

    async def subscribe(self, sub: Subscriber, session_id: int) -> None:
        feed = self.feeds.get(session_id)
        if feed is None:
            feed = self.feeds[session_id] = DoorFeed(session_id)
            try:
                await self.relay.subscribe(door_channel(session_id))
            except ApiError:
                self.feeds.pop(session_id, None)
                raise
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
            task = asyncio.create_task(self.relay.unsubscribe(door_channel(session_id)))
            self._background.add(task)
            task.add_done_callback(self._background.discard)
        return True

    def forget(self, sub: Subscriber) -> None:
        for session_id in list(self.feeds):
            self.unsubscribe(sub, session_id)

    async def _refresh_all(self) -> None:
        """After a lost pub/sub connection, send every subscriber fresh counters."""
        for feed in list(self.feeds.values()):
            try:
                counters = await self.door_live.counters(feed.session_id)
            except ApiError:
                continue
            frame = Encoded(door_message(feed.channel, counters, [], []))
            for sub in list(feed.subscribers):
                sub.push(frame.frame(sub.codec), feed.channel)

    def _on_message(self, channel: str, data: bytes) -> None:
        feed = self.feeds.get(session_of_door_channel(channel))
        if feed is None:
            return
        payload = json.loads(data)
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
