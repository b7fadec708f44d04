"""The live stock channel ``stock:<point_of_sale_id>``: a snapshot read from Postgres, then
the levels after each sale, refund and restock, with the alert flag turning when the stock
crosses its threshold; a level whose announcement was lost reaches the clients anyway."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from server.articles.feed import RECHECK_S
from tests import support
from tests.articles.helpers import article, point_with_register, sell
from tests.cash.helpers import cashier, open_session
from tests.support import Api, ServerProcess, WsClient


async def watch(url: str, token: str, point: int) -> tuple[WsClient, dict[str, Any]]:
    """A client signed in with ``token`` on ``stock:<point>``, and its snapshot."""
    ws = await WsClient.connect(url)
    await ws.send({"type": "auth", "token": token})
    await ws.until(lambda m: m["type"] == "authenticated")
    await ws.send({"type": "subscribe", "channel": f"stock:{point}"})
    snapshot = await ws.until(lambda m: m["type"] == "stock")
    return ws, snapshot


def level(message: dict[str, Any], article_id: int) -> dict[str, Any] | None:
    return next((a for a in message["articles"] if a["id"] == article_id), None)


async def next_level(ws: WsClient, article_id: int, within: float = 5) -> dict[str, Any]:
    m = await ws.until(lambda m: m["type"] == "stock" and level(m, article_id), within)
    assert m["full"] is False
    found = level(m, article_id)
    assert found is not None
    return found


async def test_the_alert_shows_live_when_sales_cross_the_threshold(
    server: ServerProcess, admin: Api
) -> None:
    point, register_id = await point_with_register(admin)
    beer = await article(admin, stock=5, alert_at=3, point_of_sale_id=point)
    everywhere = await article(admin, name="Programme", stock=50, price_cents=300)
    elsewhere, _ = await point_with_register(admin)
    hidden = await article(admin, name="Other bar", stock=9, point_of_sale_id=elsewhere)
    token = await support.staff_token(admin, "pos")
    api = await cashier(admin, server, "pos", "refund")
    ws, snapshot = await watch(server.ws_url, token, point)
    try:
        assert snapshot["full"] is True and snapshot["channel"] == f"stock:{point}"
        assert level(snapshot, beer["id"]) == {
            "id": beer["id"],
            "stock": 5,
            "alert": False,
            "version": beer["stock_version"],
        }
        assert level(snapshot, everywhere["id"]) is not None
        assert level(snapshot, hidden["id"]) is None
        rs = await open_session(api, register_id)
        assert (await sell(api, rs, [(beer["id"], 1)], 500)).status_code == 201
        assert await next_level(ws, beer["id"]) == {
            "id": beer["id"],
            "stock": 4,
            "alert": False,
            "version": beer["stock_version"] + 1,
        }
        sale = (await sell(api, rs, [(beer["id"], 1), (everywhere["id"], 2)], 1100)).json()
        crossed = await next_level(ws, beer["id"])
        assert (crossed["stock"], crossed["alert"]) == (3, True)
        refund = await api.http.post(
            f"/api/journal/{sale['id']}/refund", json={"register_session_id": rs}
        )
        assert refund.status_code == 201, refund.text
        back = await next_level(ws, beer["id"])
        assert (back["stock"], back["alert"]) == (4, False)
        await admin.http.post(
            f"/api/articles/{everywhere['id']}/stock", json={"delta": 10, "reason": "delivery"}
        )
        assert (await next_level(ws, everywhere["id"]))["stock"] == 60
    finally:
        await ws.close()
        await api.close()


@pytest.fixture
async def mute() -> AsyncIterator[ServerProcess]:
    """A server that never announces a stock change (as if it died between its commit
    and its publish, or Redis were down at that moment)."""
    proc = ServerProcess({"GUICHET_FAILPOINTS": "articles.publish=error"})
    try:
        await asyncio.to_thread(proc.wait_ready)
        yield proc
    finally:
        proc.stop()


async def test_a_level_whose_announcement_was_lost_reaches_the_clients_anyway(
    server: ServerProcess, mute: ServerProcess, admin: Api
) -> None:
    point, register_id = await point_with_register(admin)
    beer = await article(admin, stock=5, alert_at=4, point_of_sale_id=point)
    token = await support.staff_token(admin, "pos")
    ws, _ = await watch(server.ws_url, token, point)
    api = Api(mute.url, await support.staff_token(admin, "pos"))
    try:
        rs = await open_session(api, register_id)
        assert (await sell(api, rs, [(beer["id"], 1)], 500)).status_code == 201
        repaired = await next_level(ws, beer["id"], within=RECHECK_S + 3)
    finally:
        await ws.close()
        await api.close()
    assert (repaired["stock"], repaired["alert"]) == (4, True)


async def test_the_stock_of_an_unknown_point_of_sale_is_refused(
    server: ServerProcess, admin: Api
) -> None:
    ws = await WsClient.connect(server.ws_url)
    try:
        await ws.send({"type": "auth", "token": await support.staff_token(admin, "pos")})
        await ws.until(lambda m: m["type"] == "authenticated")
        await ws.send({"type": "subscribe", "channel": f"stock:{2**40}", "id": 1})
        reply = await ws.until(lambda m: m.get("id") == 1)
    finally:
        await ws.close()
    assert (reply["type"], reply["code"]) == ("error", "unknown_session")
