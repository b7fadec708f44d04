"""The seat-map document a shop or a desk draws a session's plan from, rendered once per
plan and kept ready to send.

A plan is immutable once written (a new plan is a new row), so the bytes of a session's
seat map depend only on ``(session_id, plan_id)``: they are built on the first request,
compressed once, and served from memory with a strong ``ETag`` until the cache's byte
budget pushes them out. At 100,000 seats that is about 7 MB of JSON and 0.6 MB gzipped,
built in well under a second once instead of on every request. The cache is a
per-process copy of immutable data, not state: any process rebuilds the same bytes.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import json
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

import asyncpg
import msgspec

from server.platform.db import connection

BUDGET_BYTES = 96 * 1024 * 1024
"""Raw plus gzipped bytes kept per process (a dozen stadium-sized maps)."""
GZIP_LEVEL = 6


@dataclass(frozen=True, slots=True)
class SeatMapBody:
    """One session's seat map, ready to send: ``raw`` JSON and its ``gzipped`` form."""

    etag: str
    raw: bytes
    gzipped: bytes

    @property
    def size(self) -> int:
        return len(self.raw) + len(self.gzipped)


def not_seated(session_id: int) -> dict[str, Any]:
    return {"session_id": session_id, "seated": False, "seats": []}


def render(session_id: int, plan: asyncpg.Record, rows: list[asyncpg.Record]) -> bytes:
    """The seat-map JSON: seats in wire order, ``[id, label, row, zone, category, x, y,
    accessible]`` (coordinates to one decimal)."""
    return msgspec.json.encode(
        {
            "session_id": session_id,
            "seated": True,
            "plan_id": plan["id"],
            "name": plan["name"],
            "size": json.loads(plan["size"]),
            "categories": json.loads(plan["categories"]),
            "seats": [
                (
                    r["seat_id"],
                    r["label"],
                    r["row_label"],
                    r["zone"],
                    r["category"],
                    round(r["x"], 1),
                    round(r["y"], 1),
                    r["accessible"],
                )
                for r in rows
            ],
        }
    )


def ready(raw: bytes, key: str) -> SeatMapBody:
    digest = hashlib.blake2b(raw, digest_size=12).hexdigest()
    return SeatMapBody(f'"{key}-{digest}"', raw, gzip.compress(raw, GZIP_LEVEL, mtime=0))


def _build(session_id: int, plan: asyncpg.Record, rows: list[asyncpg.Record]) -> SeatMapBody:
    return ready(render(session_id, plan, rows), f"s{session_id}p{plan['id']}")


class SeatMaps:
    """Seat-map bodies by ``(session_id, plan_id)``, least recently used out first."""

    def __init__(self, pool: asyncpg.Pool, budget: int = BUDGET_BYTES) -> None:
        self.pool = pool
        self.budget = budget
        self._bodies: OrderedDict[tuple[int, int], SeatMapBody] = OrderedDict()
        self._bytes = 0

    async def body(self, session_id: int, plan_id: int | None) -> SeatMapBody:
        if plan_id is None:
            return ready(msgspec.json.encode(not_seated(session_id)), f"s{session_id}")
        key = (session_id, plan_id)
        cached = self._bodies.get(key)
        if cached is not None:
            self._bodies.move_to_end(key)
            return cached
        plan, rows = await self._load(plan_id)
        # Encoding and compressing megabytes takes a while (about 0.3 s at 100,000 seats):
        # off the event loop, once per plan and process.
        made = await asyncio.to_thread(_build, session_id, plan, rows)
        self._keep(key, made)
        return made

    async def _load(self, plan_id: int) -> tuple[asyncpg.Record, list[asyncpg.Record]]:
        async with connection(self.pool) as conn:
            plan = await conn.fetchrow(
                "SELECT id, name, document->'size' AS size,"
                " document->'categories' AS categories FROM seat_plans WHERE id = $1",
                plan_id,
            )
            rows = await conn.fetch(
                "SELECT seat_id, label, row_label, zone, category, x, y, accessible"
                " FROM seats WHERE plan_id = $1 ORDER BY idx",
                plan_id,
            )
        return plan, rows

    def _keep(self, key: tuple[int, int], made: SeatMapBody) -> None:
        if key in self._bodies:  # two requests built it at once: keep one copy
            return
        self._bodies[key] = made
        self._bytes += made.size
        while self._bytes > self.budget and len(self._bodies) > 1:
            _, dropped = self._bodies.popitem(last=False)
            self._bytes -= dropped.size
