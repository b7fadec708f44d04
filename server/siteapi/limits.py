"""Requests a minute per API key, counted in Redis (one Lua script: ``limit_hit.lua``), so
the limit is one count for every server process behind the same Redis."""

from __future__ import annotations

import math
from dataclasses import dataclass

from server.platform.errors import RateLimited
from server.platform.redis_client import Client
from server.platform.scripts import ScriptRunner

WINDOW_MS = 60_000


@dataclass(frozen=True, slots=True)
class Budget:
    limit: int
    remaining: int
    reset_s: int
    """Seconds until the window ends."""


class RateLimiter:
    def __init__(self, client: Client) -> None:
        self.scripts = ScriptRunner(client, "server.siteapi.lua", "live_unavailable")

    async def hit(self, key_id: int, per_minute: int) -> Budget:
        """Count one request of the key; past ``per_minute`` in the window, 429
        ``rate_limited`` with ``retry_after`` (Redis down: 503 ``live_unavailable``)."""
        count, ttl_ms = await self.scripts.run(
            "limit_hit", [f"gq:apikey:{{k:{key_id}}}:minute"], [WINDOW_MS]
        )
        reset_s = max(1, math.ceil(int(ttl_ms) / 1000))
        if int(count) > per_minute:
            raise RateLimited(
                "rate_limited",
                f"this key may make {per_minute} requests a minute",
                retry_after=reset_s,
                limit=per_minute,
            )
        return Budget(per_minute, per_minute - int(count), reset_s)
