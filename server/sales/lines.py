"""An order's lines from what a buyer asked for: one line per seat or general-admission
place, shared by the single-session order (``server/sales/http.py``) and the shop's cart
(``server/shop/http.py``)."""

from __future__ import annotations

from collections.abc import Sequence

from server.catalog.service import Catalog, SessionRow
from server.platform.errors import Invalid
from server.sales.schemas import MAX_ORDER_LINES
from server.sales.service import OrderLine

Item = tuple[int, str | None, int]
"""(tariff id, seat id or None, quantity of places when there is no seat)."""


async def order_lines(
    catalog: Catalog, session: SessionRow, items: Sequence[Item]
) -> list[OrderLine]:
    """The lines of ``items``: a seat names its seat (an unknown one is refused by the
    catalogue), a place needs a general-admission session; at most ``MAX_ORDER_LINES``."""
    indices = iter(await catalog.seat_indices(session, [s for _, s, _ in items if s is not None]))
    lines: list[OrderLine] = []
    for tariff_id, seat, quantity in items:
        if seat is not None:
            lines.append(OrderLine(tariff_id, next(indices)))
            continue
        if session.seated:
            raise Invalid("seat_required", "each item of a seated session names a seat")
        lines.extend(OrderLine(tariff_id, None) for _ in range(quantity))
        if len(lines) > MAX_ORDER_LINES:
            raise Invalid(
                "too_many_places", f"an order has at most {MAX_ORDER_LINES} places", field="items"
            )
    return lines
