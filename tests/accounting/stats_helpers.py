"""A small known trade for the statistics: one session that started an hour ago in a room
of its own, sold at a desk and on the e-shop, one ticket scanned, one refunded."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.accounting.helpers import FULL, FULL_RATE, REDUCED, REDUCED_RATE, order
from tests.cash.helpers import cashier, new_register, open_session
from tests.door.test_door_api import code_of, scan
from tests.support import Api, ServerProcess

CAPACITY = 10


@dataclass
class StatsDay:
    session_id: int = 0
    room_id: int = 0
    starts_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    tariffs: list[int] = field(default_factory=list)
    register_session_id: int = 0
    desk_tickets: list[int] = field(default_factory=list)
    shop_tickets: list[int] = field(default_factory=list)


_STARTS: set[datetime] = set()
"""The start of every session ``started_session`` made in this run: each its own second."""


async def started_session(admin: Api, name: str = "Stats") -> StatsDay:
    """A general-admission session that started an hour ago (to the second, so a period of
    one second around its start holds it alone)."""
    day = StatsDay()
    venue = (await admin.http.post("/api/venues", json={"name": f"{name} venue"})).json()
    room = await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": name})
    day.room_id = room.json()["id"]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    while start in _STARTS:  # another test's session began in the same second
        start -= timedelta(seconds=1)
    _STARTS.add(start)
    day.starts_at = start
    body = {
        "room_id": day.room_id,
        "event_name": f"{name} {uuid.uuid4().hex[:6]}",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=4)).isoformat(),
        "seated": False,
        "capacity": CAPACITY,
        "sell_online_after_start": True,  # the shop sells it though it has started
        "tariffs": [
            {"name": "Full", "price_cents": FULL, "tax_rate_bp": FULL_RATE},
            {"name": "Reduced", "price_cents": REDUCED, "tax_rate_bp": REDUCED_RATE},
        ],
    }
    r = await admin.http.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    day.session_id = r.json()["id"]
    day.tariffs = [t["id"] for t in r.json()["tariffs"]]
    return day


async def desk_sale(admin: Api, server: ServerProcess, day: StatsDay, n: int = 2) -> Api:
    """``n`` Full sold in cash at a fresh register; returns the cashier (to close)."""
    register_id = await new_register(admin)
    desk = await cashier(admin, server, "pos")
    day.register_session_id = await open_session(desk, register_id)
    pay = [{"method": "cash", "amount_cents": n * FULL}]
    sold = await order(
        desk,
        day.session_id,
        day.tariffs[0],
        n,
        register_session_id=day.register_session_id,
        payments=pay,
    )
    day.desk_tickets += [t["id"] for t in sold["tickets"]]
    return desk


async def shop_sale(server: ServerProcess, day: StatsDay, n: int = 2) -> None:
    buyer = Api(server.url)
    try:
        bought = await order(buyer, day.session_id, day.tariffs[1], n)
    finally:
        await buyer.close()
    day.shop_tickets += [t["id"] for t in bought["tickets"]]


async def enter(admin: Api, ticket_id: int) -> dict[str, Any]:
    result = await scan(admin, await code_of(admin, ticket_id), door="stats")
    assert result["result"] == "valid", result
    return result


async def refund(admin: Api, ticket_id: int) -> None:
    r = await admin.http.post(f"/api/tickets/{ticket_id}/refund")
    assert r.status_code == 200, r.text


def alone(day: StatsDay) -> dict[str, str]:
    """A period holding the start of this session and of no other."""
    return {
        "from": day.starts_at.isoformat(),
        "to": (day.starts_at + timedelta(seconds=1)).isoformat(),
        "tz": "Europe/Paris",
    }
