"""The door's live layer in Redis: freeing refunded seats, entry counters and the door feed.

Counters of a session live under the hash tag ``{d:<session_id>}``: a hash (entered,
exited, inside, refused, refused:<reason>, door:<door>:entered, door:<door>:exited,
door:<door>:refused) and sorted
sets of the entries of the last minute (the rate, per session and per door). Every count
publishes the new counters on the session's door channel, which the WebSocket relays on
``door:<session_id>``. Counters missing from Redis (flush, restart) are rebuilt from
Postgres, the truth (:mod:`server.door.counts`). ``entered`` counts passages in (re-entries
too), ``exited`` valid exit scans, and ``inside`` is always ``entered - exited``.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from server.platform.coalesce import Coalescer
from server.platform.errors import DomainError, Unavailable
from server.platform.scripts import REDIS_DOWN, ScriptRunner
from server.seating.live import Live

log = logging.getLogger(__name__)

RATE_WINDOW_MS = 60_000
ENTERED = "entered"
EXITED = "exited"


def door_prefix(session_id: int) -> str:
    return f"gq:{{d:{session_id}}}:"


def door_channel(session_id: int) -> str:
    return door_prefix(session_id) + "ch"


def moved_from(door: str) -> str:
    """The outcome of an uploaded scan that took an entry over from one made at ``door``:
    the entry counts at the upload's door instead (door names hold no ``:``)."""
    return f"moved:{door}"


@dataclass(frozen=True, slots=True)
class DoorEvent:
    """One counted scan: ``outcome`` is ``"entered"``, ``"exited"``, ``moved_from(door)`` or
    the refusal reason."""

    door: str
    outcome: str
    member: str  # unique per scan (its id): the rate counts members


@dataclass(frozen=True, slots=True)
class CountsFromPostgres:
    """What the counters are rebuilt from."""

    fields: dict[str, int]
    recent_entries: Sequence[tuple[str, int, str]]  # (door, at_ms, member)
    ends_at_ms: int = 0


CountsLoader = Callable[[int], Awaitable[CountsFromPostgres]]


@dataclass(frozen=True, slots=True)
class Counted:
    """One online scan's count, waiting to go with others (:meth:`DoorLive.count_soon`)."""

    session_id: int
    event: DoorEvent
    entries: Sequence[dict[str, Any]] = ()
    exits: Sequence[dict[str, Any]] = ()


class DoorLive:
    def __init__(self, live: Live, load_counts: CountsLoader) -> None:
        self.seats = live
        self.redis = live.redis
        self._load_counts = load_counts
        self.scripts = ScriptRunner(live.redis, "server.door.lua", "live_unavailable")
        self._counting: Coalescer[Counted, None] = Coalescer(self._count_together)

    async def _run(self, name: str, keys: Sequence[str], args: list[Any]) -> Any:
        return await self.scripts.run(name, keys, args)

    # -- counters --------------------------------------------------------------------------

    def _keys(self, session_id: int) -> tuple[str, str, str]:
        prefix = door_prefix(session_id)
        return prefix + "cnt", prefix + "rate", prefix + "rate:"

    async def count(
        self,
        session_id: int,
        events: Sequence[DoorEvent],
        entries: Sequence[dict[str, Any]] = (),
        exits: Sequence[dict[str, Any]] = (),
    ) -> None:
        """Count scans and publish counters plus the new entries and exits (for offline
        scanners' lists of who is inside)."""
        if not events:
            return
        cnt, rate, door_rate = self._keys(session_id)
        args: list[Any] = [
            int(time.time() * 1000),
            RATE_WINDOW_MS,
            door_channel(session_id),
            door_rate,
            json.dumps(list(entries), separators=(",", ":")),
            json.dumps(list(exits), separators=(",", ":")),
        ]
        for event in events:
            args += [event.door, event.outcome, event.member]
        reply = await self._run("door_count", [cnt, rate], args)
        if reply[0] == b"not_loaded":
            # The rebuild reads Postgres, where these scans are committed already: count
            # nothing more, only publish the rebuilt counters.
            await self.ensure_counters(session_id)
            await self._run("door_count", [cnt, rate], args[:6])

    async def count_soon(self, counted: Counted) -> None:
        """Count one online scan with the others of this moment: the scans that arrive
        while a count is running go in one script call per session, and one publish."""
        await self._counting.submit(counted)

    async def _count_together(self, batch: list[Counted]) -> list[None]:
        by_session: dict[int, list[Counted]] = {}
        for counted in batch:
            by_session.setdefault(counted.session_id, []).append(counted)
        for session_id, items in by_session.items():
            try:
                await self.count(
                    session_id,
                    [c.event for c in items],
                    [e for c in items for e in c.entries],
                    [e for c in items for e in c.exits],
                )
            except DomainError:
                log.warning("door counters unavailable; they will be rebuilt from postgres")
        return [None] * len(batch)

    async def forget(self, session_id: int) -> None:
        """Drop an ended session's counters (the janitor; rebuilt from Postgres if asked)."""
        cnt, rate, door_rate = self._keys(session_id)
        door_keys = [k async for k in self.redis.scan_iter(match=door_rate + "*", count=500)]
        await self.redis.unlink(cnt, rate, *door_keys)

    async def ensure_counters(self, session_id: int) -> None:
        cnt, rate, door_rate = self._keys(session_id)
        try:
            if await self.redis.exists(cnt):
                return
        except REDIS_DOWN as exc:
            raise Unavailable("live_unavailable", "the live service is unavailable") from exc
        counts = await self._load_counts(session_id)
        args: list[Any] = [door_rate, len(counts.fields)]
        for name, value in counts.fields.items():
            args += [name, value]
        for door, at_ms, member in counts.recent_entries:
            args += [door, at_ms, member]
        reply = await self._run("door_load", [cnt, rate], args)
        if reply[0] == b"loaded":
            log.info("session %s door counters rebuilt from postgres", session_id)
            await self.seats.retire_after(session_id, counts.ends_at_ms)

    async def counters(self, session_id: int) -> dict[str, Any]:
        """Counters of a session: totals, refusals by reason, per door, rates per minute."""
        await self.ensure_counters(session_id)
        cnt, rate, door_rate = self._keys(session_id)
        since = int(time.time() * 1000) - RATE_WINDOW_MS
        try:
            raw = cast(dict[bytes, bytes], await self.redis.hgetall(cnt))
            doors = sorted(
                {k.decode().split(":")[1] for k in raw if k.decode().startswith("door:")}
            )
            async with self.redis.pipeline(transaction=False) as pipe:
                pipe.zcount(rate, since, "+inf")
                for door in doors:
                    pipe.zcount(door_rate + door, since, "+inf")
                rates = await pipe.execute()
        except REDIS_DOWN as exc:
            raise Unavailable("live_unavailable", "the live service is unavailable") from exc
        fields = {k.decode(): int(v) for k, v in raw.items()}
        return counters_json(session_id, fields, rates[0], dict(zip(doors, rates[1:], strict=True)))

    async def publish(self, session_id: int, message: dict[str, Any]) -> None:
        """Publish a door message (e.g. a revocation) to every process's door feed."""
        try:
            await self.redis.spublish(door_channel(session_id), json.dumps(message))
        except REDIS_DOWN:
            log.warning("could not publish a door message for session %s", session_id)


def counters_json(
    session_id: int, fields: dict[str, int], rate: int, door_rates: dict[str, int]
) -> dict[str, Any]:
    doors: dict[str, dict[str, int]] = {}
    refused: dict[str, int] = {}
    for name, value in fields.items():
        parts = name.split(":")
        if parts[0] == "door" and len(parts) == 3:
            doors.setdefault(parts[1], _door_counters())
            doors[parts[1]][parts[2]] = value
        elif parts[0] == "refused" and len(parts) == 2:
            refused[parts[1]] = value
    for door, door_rate in door_rates.items():
        doors.setdefault(door, _door_counters())
        doors[door]["rate_per_minute"] = door_rate
    return {
        "session_id": session_id,
        "entered": fields.get("entered", 0),
        "exited": fields.get("exited", 0),
        "inside": fields.get("inside", 0),
        "refused": fields.get("refused", 0),
        "refused_by_reason": refused,
        "rate_per_minute": rate,
        "doors": doors,
    }


def _door_counters() -> dict[str, int]:
    return {"entered": 0, "exited": 0, "refused": 0, "rate_per_minute": 0}
