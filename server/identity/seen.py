"""When each scanner device was last seen: written to ``devices.last_seen_at`` at most once
a minute per device and process, off the request's path (a scan never waits for it)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

import asyncpg

from server.identity.auth import Principal
from server.platform.db import connection
from server.platform.errors import Unavailable

log = logging.getLogger(__name__)
EVERY_S = 60.0


class DeviceSeen:
    def __init__(self, pool: asyncpg.Pool, every_s: float = EVERY_S) -> None:
        self.pool = pool
        self.every_s = every_s
        self._last: dict[int, float] = {}
        self._writes: set[asyncio.Task[None]] = set()

    def saw(self, principal: Principal) -> None:
        """A request or WebSocket ``auth`` of ``principal``: noted if it is a device."""
        if principal.user_id is None or principal.user_id >= 0:
            return
        device_id, now = -principal.user_id, time.monotonic()
        if now - self._last.get(device_id, -self.every_s) < self.every_s:
            return
        self._last[device_id] = now
        task = asyncio.get_running_loop().create_task(self._write(device_id))
        self._writes.add(task)
        task.add_done_callback(self._writes.discard)

    async def _write(self, device_id: int) -> None:
        with contextlib.suppress(Unavailable, OSError, asyncpg.PostgresError):
            async with connection(self.pool) as conn:
                await conn.execute(
                    "UPDATE devices SET last_seen_at = now() WHERE id = $1", device_id
                )
