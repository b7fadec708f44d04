"""The door feed: channel ``door:<session_id>`` with live counters, new entries and exits,
and revocations.

Every counted scan publishes the session's counters on its Redis door channel (see
``server/door/counters.py``); the channel registry relays them to this process's
subscribers, coalesced over the batching window and encoded once per encoding. Scanners use
the ``entries``, ``exits`` and ``revoked`` lists to keep their offline lists fresh while
online.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from server.door.counters import DoorLive, counters_json, door_channel
from server.identity.permissions import Permission
from server.realtime.channels import Feed, SubscribeOptions, Topic
from server.realtime.protocol import ChannelKind, ServerType
from server.realtime.subscriber import Encoded, OutFrame, Subscriber


class DoorTopic(Topic):
    """What arrived on a session's door channel since the last flush."""

    def __init__(self, redis_channel: str, session_id: int) -> None:
        super().__init__(redis_channel, session_id)
        self.door_rates: dict[str, int] = {}
        self.counters: dict[str, Any] | None = None
        self.entries: list[Any] = []
        self.exits: list[Any] = []
        self.revoked: list[str] = []


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


class DoorFeed(Feed[DoorTopic]):
    access = {ChannelKind.DOOR: (Permission.DOOR_SCAN, Permission.STATS_READ)}

    def __init__(self, door_live: DoorLive, known_session: Callable[[int], Awaitable[object]]):
        self.door_live = door_live
        self.known_session = known_session

    def topic_name(self, ident: int) -> str:
        return door_channel(ident)

    def new_topic(self, ident: int) -> DoorTopic:
        return DoorTopic(door_channel(ident), ident)

    async def check(self, ident: int) -> None:
        await self.known_session(ident)

    async def first_frame(
        self, topic: DoorTopic, sub: Subscriber, kind: ChannelKind, options: SubscribeOptions
    ) -> OutFrame:
        counters = await self.door_live.counters(topic.ident)
        return OutFrame.of(sub.codec, door_message(topic.local(kind), counters, [], []))

    async def resync(self, topic: DoorTopic) -> None:
        """After a lost pub/sub connection, send every subscriber fresh counters."""
        counters = await self.door_live.counters(topic.ident)
        topic.push(
            ChannelKind.DOOR, Encoded(door_message(topic.local(ChannelKind.DOOR), counters, [], []))
        )

    def accept(self, topic: DoorTopic, data: bytes) -> bool:
        payload = json.loads(data)
        if "counters" in payload:
            topic.door_rates.update(payload.get("door_rates") or {})
            topic.counters = counters_json(
                topic.ident, payload["counters"], payload.get("rate", 0), topic.door_rates
            )
            topic.entries.extend(payload.get("entries") or [])
            topic.exits.extend(payload.get("exits") or [])
        topic.revoked.extend(payload.get("revoked") or [])
        return True

    def flush(self, topic: DoorTopic) -> None:
        channel = topic.local(ChannelKind.DOOR)
        if topic.counters is not None:
            topic.push(
                ChannelKind.DOOR,
                Encoded(door_message(channel, topic.counters, topic.entries, topic.exits)),
            )
        if topic.revoked:
            revoked = {"type": ServerType.REVOKED.value, "channel": channel, "codes": topic.revoked}
            topic.push(ChannelKind.DOOR, Encoded(revoked))
        topic.counters, topic.entries, topic.exits, topic.revoked = None, [], [], []
