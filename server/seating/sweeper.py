"""Releases expired holds. Safe to run in every process: each step is one atomic script."""

from __future__ import annotations

import logging
import time

from server.platform.loops import every
from server.seating.live import Live

log = logging.getLogger(__name__)
MARGIN_MS = 60_000


async def sweep_once(live: Live, cap_ms: int) -> int:
    """Expire due holds in every session that may have some; returns tokens expired."""
    now_ms = int(time.time() * 1000)
    expired = 0
    for session_id in await live.live_sessions(now_ms - cap_ms - MARGIN_MS):
        expired += await live.expire_due(session_id)
    return expired


async def run_sweeper(live: Live, interval_ms: int, cap_ms: int) -> None:
    await every(interval_ms / 1000, lambda: sweep_once(live, cap_ms), "sweeper")
