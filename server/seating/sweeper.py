"""Releases expired holds. Safe to run in every process: each step is one atomic script."""

from __future__ import annotations

import asyncio
import logging
import time

from server.platform.errors import DomainError
from server.platform.scripts import REDIS_DOWN
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
    task = asyncio.current_task()
    while True:
        # On Python 3.11 a cancel can be lost inside a Redis call (``asyncio.wait_for``
        # returns the result when it completes as the cancel arrives, and redis-py sends
        # under it): stop on the pending cancel anyway, or the app's shutdown waits forever
        # (a server that failed to bind its port hung there, ignoring every signal).
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        try:
            await sweep_once(live, cap_ms)
        except asyncio.CancelledError:
            raise
        except (DomainError, *REDIS_DOWN):
            pass
        except Exception:
            log.exception("sweeper error")
        await asyncio.sleep(interval_ms / 1000)
