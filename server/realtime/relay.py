"""One Redis pub/sub connection per process and purpose, with resubscription on loss.

Redis pub/sub loses messages while a connection is down, so after reconnecting the owner is
told (``on_reconnect``) and resynchronises its clients from the durable state (a seat-map
snapshot, fresh counters). Channels are subscribed while a local client needs them.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as redis

from server.platform.errors import Unavailable
from server.platform.scripts import REDIS_DOWN

log = logging.getLogger(__name__)

RETRY_S = 0.2


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


class Relay:
    def __init__(
        self,
        client: redis.Redis,
        on_message: Callable[[str, bytes], None],
        on_subscribed: Callable[[str], None] = lambda _: None,
        on_reconnect: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.redis = client
        self.on_message = on_message
        self.on_subscribed = on_subscribed
        self.on_reconnect = on_reconnect
        self.channels: set[str] = set()
        self._pubsub: Any = client.pubsub()
        self._lock = asyncio.Lock()
        self._broken = False
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._task = asyncio.create_task(self._reader())

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        with contextlib.suppress(Exception):
            await self._pubsub.aclose()

    async def subscribe(self, channel: str) -> None:
        async with self._lock:
            self.channels.add(channel)
            try:
                await self._pubsub.subscribe(channel)
            except REDIS_DOWN as exc:
                self.channels.discard(channel)
                self._broken = True
                raise Unavailable("unavailable", "the live service is unavailable") from exc

    async def unsubscribe(self, channel: str) -> None:
        async with self._lock:
            self.channels.discard(channel)
            with contextlib.suppress(*REDIS_DOWN):
                await self._pubsub.unsubscribe(channel)

    async def _reader(self) -> None:
        while True:
            try:
                if self._broken:
                    await self._reconnect()
                if not self._pubsub.subscribed:
                    await asyncio.sleep(0.05)
                    continue
                message = await self._pubsub.get_message(timeout=1.0)
                if message is None:
                    continue
                channel = _text(message["channel"])
                if message["type"] == "message":
                    self.on_message(channel, message["data"])
                elif message["type"] == "subscribe":
                    self.on_subscribed(channel)
            except asyncio.CancelledError:
                raise
            except REDIS_DOWN:
                log.warning("pub/sub connection lost; resubscribing")
                self._broken = True
                await asyncio.sleep(RETRY_S)
            except Exception:
                log.exception("pub/sub reader error")
                await asyncio.sleep(RETRY_S)

    async def _reconnect(self) -> None:
        async with self._lock:
            with contextlib.suppress(Exception):
                await self._pubsub.aclose()
            self._pubsub = self.redis.pubsub()
            if self.channels:
                await self._pubsub.subscribe(*self.channels)  # raises while Redis is down
            self._broken = False
        if self.on_reconnect is not None:
            await self.on_reconnect()
