"""The statistics over HTTP, on a known trade: a desk sale, an e-shop sale, a scan and a
refund in a session that started an hour ago; then the bounds and the roles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests.accounting.helpers import FULL, REDUCED, order
from tests.accounting.stats_helpers import (
    CAPACITY,
    StatsDay,
    alone,
    desk_sale,
    enter,
    refund,
    shop_sale,
    started_session,
)
from tests.support import Api, ServerProcess, staff_token


async def stats(api: Api, params: dict[str, str]) -> Any:
    r = await api.http.get("/api/stats", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def recent() -> dict[str, str]:
    now = datetime.now(UTC)
    return {
        "from": (now - timedelta(hours=2)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }


def by_channel(found: Any) -> dict[str, tuple[int, int, int]]:
    sums: dict[str, tuple[int, int, int]] = {}
    for row in found["sales_over_time"]["rows"]:
        lines, tickets, gross = sums.get(row["channel"], (0, 0, 0))
        sums[row["channel"]] = (
            lines + row["lines"],
            tickets + row["tickets"],
            gross + row["gross_cents"],
        )
    return sums


@pytest.fixture(scope="module")
async def traded(server: ServerProcess, admin_token: str) -> Any:
    """The trade, with the sales per channel of the last hours before and after it."""
    admin = Api(server.url, admin_token)
    try:
        before = by_channel(await stats(admin, recent()))
        day = await started_session(admin)
        desk = await desk_sale(admin, server, day)
        await desk.close()
        await shop_sale(server, day)
        await enter(admin, day.desk_tickets[0])
        await refund(admin, day.shop_tickets[1])
        await order(admin, day.session_id, day.tariffs[0], 1, reservation=True, buyer={"name": "U"})
        after = by_channel(await stats(admin, recent()))
        yield day, before, after
    finally:
        await admin.close()


async def test_the_session_s_figures_are_exact(admin: Api, traded: Any) -> None:
    day: StatsDay = traded[0]
    found = await stats(admin, alone(day))
    sold, entered, revenue = 3, 1, 2 * FULL + REDUCED  # the refunded and the reserved: not sold
    [totals] = found["totals"]
    assert totals == {
        "currency": "EUR",
        "sessions": 1,
        "started": 1,
        "capacity": CAPACITY,
        "sold": sold,
        "entered": entered,
        "no_shows": sold - entered,
        "revenue_cents": revenue,
        "occupancy_pct": 30.0,
        "attendance_pct": 33.3,
    }
    local = day.starts_at.astimezone(ZoneInfo("Europe/Paris"))
    [weekday] = found["by_weekday"]
    assert weekday["weekday"] == local.isoweekday()
    assert (weekday["sold"], weekday["entered"], weekday["revenue_cents"]) == (sold, 1, revenue)
    [hour] = found["by_hour"]
    assert hour["hour"] == local.hour and hour["revenue_cents"] == revenue
    [room] = found["by_room"]
    assert (room["room_id"], room["capacity"], room["sold"], room["entered"]) == (
        day.room_id,
        CAPACITY,
        sold,
        entered,
    )
    assert (room["occupancy_pct"], room["attendance_pct"]) == (30.0, 33.3)
    tariffs = {
        t["tariff"]: (t["sold"], t["entered"], t["revenue_cents"]) for t in found["by_tariff"]
    }
    assert tariffs == {"Full": (2, 1, 2 * FULL), "Reduced": (1, 0, REDUCED)}
    for section in ("top_by_entries", "top_by_revenue", "no_shows"):
        [s] = found[section]
        assert s["session_id"] == day.session_id
        assert (s["sold"], s["entered"], s["no_shows"], s["revenue_cents"]) == (
            sold,
            entered,
            sold - entered,
            revenue,
        )


async def test_sales_per_channel_are_the_sales_statement_s(admin: Api, traded: Any) -> None:
    _, before, after = traded
    moved = {
        channel: tuple(
            a - b for a, b in zip(after[channel], before.get(channel, (0, 0, 0)), strict=True)
        )
        for channel in after
    }
    assert moved["desk"] == (2, 2, 2 * FULL)  # a line per ticket
    assert moved["eshop"] == (3, 1, REDUCED)  # two sold, one refunded
    found = await stats(admin, recent())
    assert found["sales_over_time"]["unit"] == "hour"
    assert all(len(r["at"]) == 16 for r in found["sales_over_time"]["rows"])
    week = await stats(admin, {"from": "2030-05-28", "to": "2030-06-03"})
    assert week["sales_over_time"]["unit"] == "day"


async def test_a_period_without_sessions_has_empty_sections(admin: Api) -> None:
    found = await stats(admin, {"from": "2001-01-01", "to": "2001-01-31"})
    for section in ("totals", "by_weekday", "by_hour", "by_tariff", "by_room", "no_shows"):
        assert found[section] == []
    assert found["sales_over_time"] == {"unit": "day", "rows": []}


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"to": "2025-01-01"}, "invalid_field"),
        ({"from": "2025-02-01", "to": "2025-01-01"}, "invalid_period"),
        ({"from": "2024-01-01", "to": "2025-06-01"}, "period_too_long"),
        ({"from": "2025-01-01", "to": "2025-01-02", "tz": "Mars/Olympus"}, "invalid_field"),
    ],
)
async def test_bad_periods_are_refused(admin: Api, params: dict[str, str], code: str) -> None:
    r = await admin.http.get("/api/stats", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] == code


async def test_only_stats_and_admins_read_statistics(server: ServerProcess, admin: Api) -> None:
    params = {"from": "2030-06-01", "to": "2030-06-02"}
    for roles, status in ((("stats",), 200), (("accounting", "pos"), 403), ((), 401)):
        api = Api(server.url, await staff_token(admin, *roles) if roles else None)
        try:
            r = await api.http.get("/api/stats", params=params)
            assert r.status_code == status, (roles, r.text)
        finally:
            await api.close()
