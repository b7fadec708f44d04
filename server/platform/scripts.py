"""Redis Lua scripts: one file per atomic operation in a context's ``lua/`` folder, loaded
once, run by SHA1; and the Redis errors that mean "the live layer is down".

A folder's ``_prelude.lua`` (shared helpers) is prepended to each of its scripts.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from typing import Any

import redis.asyncio as redis
from redis.exceptions import (
    ClusterError,
    NoScriptError,
    RedisClusterException,
    TryAgainError,
)

from server.platform.errors import Unavailable
from server.platform.redis_client import Client

log = logging.getLogger(__name__)

REDIS_DOWN = (
    redis.ConnectionError,
    redis.TimeoutError,
    OSError,
    # a Redis Cluster mid-failover: a slot without a master, the cluster marked down
    ClusterError,
    RedisClusterException,
    TryAgainError,
)


@dataclass(frozen=True, slots=True)
class LuaScript:
    """One operation (the folder's prelude prepended), run by its SHA1."""

    name: str
    body: str
    sha: str


def load_scripts(package: str) -> dict[str, LuaScript]:
    """Every ``<name>.lua`` of a package folder (e.g. ``server.seating.lua``) by name."""
    folder = resources.files(package)
    prelude_file = folder.joinpath("_prelude.lua")
    prelude = prelude_file.read_text(encoding="utf-8") if prelude_file.is_file() else ""
    scripts = {}
    for entry in folder.iterdir():
        if entry.name.endswith(".lua") and not entry.name.startswith("_"):
            body = prelude + "\n" + entry.read_text(encoding="utf-8")
            name = entry.name[:-4]
            scripts[name] = LuaScript(name, body, hashlib.sha1(body.encode()).hexdigest())
    return scripts


async def drop_idle_connections(client: Client) -> None:
    """After a connection error, close the pool's idle connections: when Redis restarted
    they are all stale, and the next requests should get fresh ones rather than fail one
    by one. (The cluster client renews a failed node's connections and slot map itself.)"""
    if isinstance(client, redis.Redis):
        with contextlib.suppress(Exception):
            await client.connection_pool.disconnect(inuse_connections=False)


class ScriptRunner:
    """Runs the scripts of one folder; a Redis outage becomes ``Unavailable`` (503)."""

    def __init__(self, client: Client, package: str, unavailable_code: str) -> None:
        self.redis = client
        self.scripts = load_scripts(package)
        self.unavailable_code = unavailable_code

    async def run(self, name: str, keys: Sequence[str], args: Iterable[Any]) -> Any:
        """EVALSHA straight through ``execute_command`` (redis-py's ``Script`` wrapper costs
        more client CPU than Redis spends running the script); EVAL-loads it once when
        Redis does not know it (first use, or after a restart). Scripts are not retried:
        some are not idempotent."""
        script = self.scripts[name]
        try:
            try:
                return await self._evalsha(script, keys, args)
            except NoScriptError:
                await self.redis.script_load(script.body)
                return await self._evalsha(script, keys, args)
        except REDIS_DOWN as exc:
            log.warning("redis unavailable: %s", type(exc).__name__)
            await drop_idle_connections(self.redis)
            raise self.unavailable() from exc

    async def _evalsha(self, script: LuaScript, keys: Sequence[str], args: Iterable[Any]) -> Any:
        return await self.redis.execute_command("EVALSHA", script.sha, len(keys), *keys, *args)

    def unavailable(self) -> Unavailable:
        return Unavailable(self.unavailable_code, "the live service is unavailable")
