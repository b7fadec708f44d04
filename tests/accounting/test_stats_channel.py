"""The live statistics (``stats:0``): the figures of the subscription's period, sent again
as sales and scans happen, through either server process; only for ``stats.read``."""

from __future__ import annotations

from typing import Any

from tests import support
from tests.accounting.helpers import FULL, REDUCED
from tests.accounting.stats_helpers import alone, desk_sale, enter, shop_sale, started_session
from tests.support import Api, ServerProcess, WsClient


def totals(m: dict[str, Any]) -> tuple[int, int, int]:
    found = m["stats"]["totals"]
    if not found:
        return (0, 0, 0)
    return (found[0]["sold"], found[0]["entered"], found[0]["revenue_cents"])


async def test_sales_and_scans_move_the_live_figures(
    server: ServerProcess, second_server: ServerProcess, admin: Api, admin_token: str
) -> None:
    other = Api(second_server.url, admin_token)
    day = await started_session(admin, "Live stats")
    ws = await WsClient.connect(server.ws_url)
    try:
        await ws.send({"type": "auth", "token": await support.staff_token(admin, "stats")})
        await ws.until(lambda m: m["type"] == "authenticated")
        await ws.send({"type": "subscribe", "channel": "stats:0", "period": alone(day)})
        first = await ws.until(lambda m: m["type"] == "stats")
        assert first["period"]["tz"] == "Europe/Paris" and totals(first) == (0, 0, 0)
        desk = await desk_sale(admin, server, day)
        await desk.close()
        sold = await ws.until(lambda m: m["type"] == "stats" and totals(m)[0] == 2, within=10)
        assert totals(sold) == (2, 0, 2 * FULL)
        await shop_sale(second_server, day, 1)  # the other process: Postgres tells
        await enter(other, day.desk_tickets[0])
        moved = await ws.until(
            lambda m: m["type"] == "stats" and totals(m)[:2] == (3, 1), within=10
        )
        assert totals(moved) == (3, 1, 2 * FULL + REDUCED)
        assert moved["stats"]["no_shows"][0]["no_shows"] == 2
    finally:
        await ws.close()
        await other.close()


async def test_a_bad_period_is_refused_and_roles_are_enforced(
    server: ServerProcess, admin: Api
) -> None:
    ws = await WsClient.connect(server.ws_url)
    try:
        await ws.send({"type": "subscribe", "channel": "stats:0", "id": 1})
        refused = await ws.until(lambda m: m["type"] == "error")
        assert refused["code"] in {"authentication_required", "forbidden"}
        await ws.send({"type": "auth", "token": await support.staff_token(admin, "accounting")})
        await ws.until(lambda m: m["type"] == "authenticated")
        await ws.send({"type": "subscribe", "channel": "stats:0", "id": 2})
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] == "forbidden"
        await ws.send({"type": "auth", "token": await support.staff_token(admin, "stats")})
        await ws.until(lambda m: m["type"] == "authenticated")
        bad = {"from": "2030-02-01", "to": "2030-01-01"}
        await ws.send({"type": "subscribe", "channel": "stats:0", "period": bad, "id": 3})
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] == "bad_message"
        await ws.send({"type": "subscribe", "channel": "stats:0", "period": [1], "id": 4})
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] == "bad_message"
        await ws.send({"type": "subscribe", "channel": "stats:3", "id": 5})
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] in {
            "unknown_session",
            "unknown_channel",
        }
        await ws.send({"type": "subscribe", "channel": "stats:0", "id": 6})
        today = await ws.until(lambda m: m["type"] == "stats")
        assert today["period"]["tz"] == "UTC"
    finally:
        await ws.close()
