"""Builds the door's services on ``app.state`` (one call from the app's lifespan)."""

from __future__ import annotations

from functools import partial
from typing import Any

import asyncpg

from server.door import DoorService, counts_from_postgres
from server.door_feed import DoorFeeds
from server.keys import KeyStore
from server.live import Live
from server.live_door import DoorLive


def setup_door(state: Any, pool: asyncpg.Pool, live: Live) -> None:
    """``state.keys`` (cached key ring), ``state.door_live``, ``state.door`` and
    ``state.door_feeds`` (the WebSocket door channel; started by the app's lifespan)."""
    state.keys = KeyStore(pool)
    state.door_live = DoorLive(live, partial(counts_from_postgres, pool))
    state.door = DoorService(pool, state.keys, state.door_live)
    state.door_feeds = DoorFeeds(live.redis, state.door_live, state.settings.batch_window_ms)
