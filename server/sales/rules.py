"""The tariff rules of an order: a tariff still on sale, and a tariff bound to seat
categories sold only for seats of those categories (docs/catalog.md). Shared by the
single-session order (``service.py``) and the shop's cart (``server/shop``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import asyncpg

from server.catalog.service import Catalog, SessionRow
from server.platform.errors import DomainError, Invalid


class OrderLine(Protocol):
    """A seat (``seat_idx``) or a place (None) with its tariff."""

    @property
    def tariff_id(self) -> int: ...
    @property
    def seat_idx(self) -> int | None: ...


async def tariff_refusal(
    catalog: Catalog,
    session: SessionRow,
    lines: Sequence[OrderLine],
    tariffs: dict[int, asyncpg.Record],
) -> DomainError | None:
    """An inactive tariff, or a tariff bound to seat categories other than its seat's;
    ``None`` when the tariffs may be sold."""
    inactive = sorted({ln.tariff_id for ln in lines if not tariffs[ln.tariff_id]["active"]})
    if inactive:
        return Invalid("tariff_inactive", "this tariff is no longer sold", tariffs=inactive)
    bound = [ln for ln in lines if ln.seat_idx is not None and tariffs[ln.tariff_id]["categories"]]
    if not bound or session.seat_plan_id is None:
        return None
    plan = await catalog.plan_seats(session.seat_plan_id)
    wrong = [
        plan.ids[ln.seat_idx]
        for ln in bound
        if ln.seat_idx is not None
        and plan.categories[ln.seat_idx] not in tariffs[ln.tariff_id]["categories"]
    ]
    if wrong:
        return Invalid(
            "tariff_not_for_seat", "a tariff does not apply to these seats' category", seats=wrong
        )
    return None
