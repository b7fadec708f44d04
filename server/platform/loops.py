"""Background loops of a server process (hold sweeper, outbox worker, janitor): one step,
then a pause, forever; a step that fails for want of Redis or Postgres is tried again on the
next round, any other error is logged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from server.platform.errors import DomainError
from server.platform.scripts import REDIS_DOWN

log = logging.getLogger(__name__)


async def every(interval_s: float, step: Callable[[], Awaitable[object]], name: str) -> None:
    task = asyncio.current_task()
    while True:
        # On Python 3.11 a cancel can be lost inside a Redis call (``asyncio.wait_for``
        # returns the result when it completes as the cancel arrives, and redis-py sends
        # under it): stop on the pending cancel anyway, or the app's shutdown waits forever
        # (a server that failed to bind its port hung there, ignoring every signal).
        if task is not None and task.cancelling():
            raise asyncio.CancelledError
        try:
            await step()
        except asyncio.CancelledError:
            raise
        except (DomainError, *REDIS_DOWN):
            pass
        except Exception:
            log.exception("%s error", name)
        await asyncio.sleep(interval_s)
