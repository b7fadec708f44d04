"""Best available at the sales edge: from a session, a quantity, a tariff (whose seat
categories bound the choice) and a wheelchair flag to seats held under a hold token.

The ranking is the pure core's (``seatmap.best``), made once per plan and request shape and
kept in this process (plans never change once written) and in Redis beside the session's
mirror, where ``holds_best.lua`` chooses and holds in one step."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections import OrderedDict
from collections.abc import Collection

from seatmap.best import candidates
from seatmap.plan import SeatPlan, parse_plan
from server.catalog.service import Catalog, SessionRow
from server.seating.live import Live

Packed = tuple[bytes, bytes]
KEEP = 64  # request shapes kept ranked in this process


class BestAvailable:
    def __init__(self, catalog: Catalog, live: Live) -> None:
        self.catalog = catalog
        self.live = live
        self._plans: dict[int, asyncio.Task[SeatPlan]] = {}
        self._packed: OrderedDict[str, asyncio.Task[Packed]] = OrderedDict()

    async def plan(self, plan_id: int) -> SeatPlan:
        """The plan (immutable once written), parsed once however many ask at once."""
        task = self._plans.get(plan_id)
        if task is None or (task.done() and task.exception() is not None):
            task = self._plans[plan_id] = asyncio.ensure_future(self._parse(plan_id))
        return await asyncio.shield(task)

    async def _parse(self, plan_id: int) -> SeatPlan:
        document = await self.catalog.export_plan(plan_id)
        return await asyncio.to_thread(parse_plan, document)

    async def _ranked(
        self, plan_id: int, n: int, categories: Collection[str], accessible: bool
    ) -> tuple[str, Packed]:
        shape = json.dumps([plan_id, n, sorted(categories), accessible])
        name = f"{plan_id}:{n}:{hashlib.sha256(shape.encode()).hexdigest()[:16]}"
        task = self._packed.get(name)
        if task is None or (task.done() and task.exception() is not None):
            task = self._packed[name] = asyncio.ensure_future(
                self._rank(plan_id, n, categories, accessible)
            )
            while len(self._packed) > KEEP:
                self._packed.popitem(last=False)
        self._packed.move_to_end(name)
        return name, await asyncio.shield(task)

    async def _rank(
        self, plan_id: int, n: int, categories: Collection[str], accessible: bool
    ) -> Packed:
        """Ranked once however many ask at once (a 20,000-seat plan takes a quarter second)."""
        plan = await self.plan(plan_id)
        found = await asyncio.to_thread(candidates, plan, n, categories, accessible)
        return found.pack()

    async def hold(
        self,
        session: SessionRow,
        token: str,
        n: int,
        categories: Collection[str],
        accessible: bool,
        ttl_ms: int,
        cap_ms: int,
        create: bool,
    ) -> tuple[list[str], int, int]:
        """(seat ids, seq, expires_ms) of the seats chosen and held."""
        assert session.seat_plan_id is not None
        plan_id = session.seat_plan_id

        async def ranked(epoch: str) -> tuple[str, bytes, bytes]:
            name, (windows, singles) = await self._ranked(plan_id, n, categories, accessible)
            return f"{epoch}:{name}", windows, singles

        seats, seq, expires = await self.live.hold_best(
            session.id, token, ranked, n, ttl_ms, cap_ms, create=create
        )
        plan = await self.plan(plan_id)
        return [plan.seats[i].id for i in seats], seq, expires
