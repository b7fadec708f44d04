"""Drops the live keys of sessions that ended more than a day ago: Redis keeps only what is
live. Safe in every process (deleting twice is harmless); a mirror needed again later is
rebuilt from Postgres like after a flush."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from server.platform.loops import every
from server.seating.live import Live

log = logging.getLogger(__name__)

Forget = Callable[[int], Awaitable[None]]
INTERVAL_S = 60.0


async def retire_ended(live: Live, also: Sequence[Forget] = ()) -> list[int]:
    """Forget the sessions due; ``also`` forget what other contexts keep per session (door
    counters). Returns the sessions retired."""
    due = await live.due_for_retirement(int(time.time() * 1000))
    for session_id in due:
        await live.forget(session_id)
        for forget in also:
            await forget(session_id)
        await live.retired(session_id)
    if due:
        log.info("retired the live keys of %d ended sessions", len(due))
    return due


async def run_janitor(
    live: Live, also: Sequence[Forget] = (), interval_s: float = INTERVAL_S
) -> None:
    await every(interval_s, lambda: retire_ended(live, also), "janitor")
