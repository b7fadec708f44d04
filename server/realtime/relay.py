"""Sharded pub/sub for one process and purpose, with resubscription on loss.

Channels are shard channels (``SSUBSCRIBE``; publishers use ``SPUBLISH``, the Lua scripts
included): on a Redis Cluster a message goes only to the shard that owns its channel's
slot, and a session's channels carry its hash tag, so a delta stays on the shard holding
its seats. On a standalone Redis (7 or newer) the same commands run on its one connection.
On a cluster the relay holds one subscription connection per master that owns a subscribed
channel, each read by its own task.

Redis pub/sub loses messages while a connection is down (or while a slot moves to another
master: Redis then ends the subscriptions of its channels), so after any such loss every
connection is rebuilt from the current slot map and the owner is told (``on_reconnect``):
it resynchronises its clients from the durable state (a seat-map snapshot, fresh counters).
Channels are subscribed while a local client needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aredis
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import RedisError, SlotNotCoveredError

from server.platform.errors import Unavailable
from server.platform.redis_client import Client, node_client
from server.platform.scripts import REDIS_DOWN

log = logging.getLogger(__name__)

RETRY_S = 0.2
STANDALONE = ""  # the one shard of a standalone server


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class _Shard:
    """One subscription connection (to a cluster master, or the standalone server)."""

    def __init__(self, client: aredis.Redis, own_client: bool) -> None:
        self.client = client
        self.own_client = own_client
        self.pubsub: Any = client.pubsub()
        self.channels: set[str] = set()
        self.task: asyncio.Task[None] | None = None

    async def close(self) -> None:
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
        with contextlib.suppress(Exception):
            await self.pubsub.aclose()
        if self.own_client:
            with contextlib.suppress(Exception):
                await self.client.aclose()


class Relay:
    def __init__(
        self,
        client: Client,
        on_message: Callable[[str, bytes], None],
        on_subscribed: Callable[[str], None] = lambda _: None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.redis = client
        self.on_message = on_message
        self.on_subscribed = on_subscribed
        self.on_reconnect = on_reconnect
        self.channels: set[str] = set()
        self._shards: dict[str, _Shard] = {}
        self._lock = asyncio.Lock()
        self._broken = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._supervise())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        for shard in list(self._shards.values()):
            await shard.close()
        self._shards.clear()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self.channels.add(channel)
            try:
                shard = await self._shard_for(channel)
                await shard.pubsub.ssubscribe(channel)
                shard.channels.add(channel)
            except (*REDIS_DOWN, RedisError) as exc:  # RedisError: e.g. MOVED, the map is stale
                self.channels.discard(channel)
                self._broken.set()
                raise Unavailable("unavailable", "the live service is unavailable") from exc

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self.channels.discard(channel)
            for shard in self._shards.values():
                if channel in shard.channels:
                    shard.channels.discard(channel)
                    with contextlib.suppress(*REDIS_DOWN, RedisError):
                        await shard.pubsub.sunsubscribe(channel)

    async def _shard_for(self, channel: str) -> _Shard:
        """The subscription connection of the master owning ``channel`` (made on first use).
        Raises while the channel's slot has no master (a failover in progress)."""
        if isinstance(self.redis, RedisCluster):
            await self.redis.initialize()  # the slot map, on first use (then a no-op)
            node = self.redis.get_node_from_key(channel)
            if node is None:
                raise SlotNotCoveredError(f"no master for {channel}")
            name = node.name
            if name not in self._shards:
                self._shards[name] = _Shard(node_client(self.redis, node), own_client=True)
        else:
            name = STANDALONE
            if name not in self._shards:
                self._shards[name] = _Shard(self.redis, own_client=False)
        shard = self._shards[name]
        if shard.task is None:
            shard.task = asyncio.create_task(self._read(shard))
        return shard

    async def _read(self, shard: _Shard) -> None:
        while True:
            try:
                if not shard.pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await shard.pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                channel = _text(message["channel"])
                kind = message["type"]
                if kind == "smessage":
                    self.on_message(channel, message["data"])
                elif kind == "ssubscribe":
                    self.on_subscribed(channel)
                elif kind == "sunsubscribe" and channel in shard.channels:
                    # Redis ended a subscription we still want: its slot moved elsewhere
                    log.warning("shard channel %s moved; resubscribing", channel)
                    self._broken.set()
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN:
                log.warning("pub/sub connection lost; resubscribing")
                self._broken.set()
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("pub/sub reader error")
                await asyncio.sleep(RETRY_S)

    async def _supervise(self) -> None:
        while True:
            await self._broken.wait()
            try:
                await self._reconnect()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis still down, or a slot without a master yet
                log.info("pub/sub not back yet: %s", type(exc).__name__)
                await asyncio.sleep(RETRY_S)

    async def _reconnect(self) -> None:
        async with self._lock:
            self._broken.clear()
            for shard in list(self._shards.values()):
                await shard.close()
            self._shards.clear()
            if isinstance(self.redis, RedisCluster):
                await self.redis.nodes_manager.initialize()  # the current slot map
            try:
                for channel in sorted(self.channels):
                    shard = await self._shard_for(channel)
                    await shard.pubsub.ssubscribe(channel)
                    shard.channels.add(channel)
            except BaseException:
                self._broken.set()
                raise
        if self.on_reconnect is not None:
            await self.on_reconnect()
