"""The organiser's live bar sales (``bars:0``): per minute and per bar, exactly the
ledger's debits (a reversal takes its debit back), pushed to the dashboard as they
move; only for those who read statistics or accounts."""

from __future__ import annotations

import uuid
from typing import Any

from tests import support
from tests.cash.helpers import cashier, new_register, open_session
from tests.support import Api, ServerProcess, WsClient
from tests.wallet.helpers import debit, new_bar, pass_code, top_up


def bar_row(message: dict[str, Any], point: int) -> dict[str, Any] | None:
    return next((r for r in message["rows"] if r["point_of_sale_id"] == point), None)


async def test_bar_sales_reach_the_dashboard_live(server: ServerProcess, admin: Api) -> None:
    _, code = await pass_code(admin)
    point, bar = await new_bar(admin)
    manager = await cashier(admin, server, "pos", "wallet_manager")
    waiter = await cashier(admin, server, "waiter")
    ws = await WsClient.connect(server.ws_url)
    try:
        rs = await open_session(manager, await new_register(admin))
        assert (await top_up(manager, code, 5000, rs)).status_code == 201
        await ws.send({"type": "auth", "token": await support.staff_token(admin, "stats")})
        await ws.until(lambda m: m["type"] == "authenticated")
        await ws.send({"type": "subscribe", "channel": "bars:0"})
        first = await ws.until(lambda m: m["type"] == "bar_sales")
        assert first["full"] is True and bar_row(first, point) is None
        assert (await debit(waiter, code, bar, 450)).status_code == 201
        assert (await debit(waiter, code, bar, 300)).status_code == 201
        # the rows are per minute: keep them as the dashboard does and add up the bar's
        # (the debits may fall on both sides of a minute's turn)
        rows: dict[str, dict[str, Any]] = {}

        def bar_total(m: dict[str, Any], want: tuple[int, int]) -> bool:
            if m["type"] != "bar_sales":
                return False
            for r in m["rows"]:
                if r["point_of_sale_id"] == point:
                    rows[r["minute"]] = r
            total = (
                sum(r["debits"] for r in rows.values()),
                sum(r["amount_cents"] for r in rows.values()),
            )
            return total == want and m["full"] is False

        await ws.until(lambda m: bar_total(m, (2, 750)), within=8)
        wrong = (await debit(waiter, code, bar, 100)).json()
        await ws.until(lambda m: bar_total(m, (3, 850)), within=8)
        reversal = {"idempotency_key": uuid.uuid4().hex, "reason": "not served"}
        url = f"/api/wallet-transactions/{wrong['transaction_id']}/reversal"
        assert (await admin.http.post(url, json=reversal)).status_code == 201
        await ws.until(lambda m: bar_total(m, (2, 750)), within=8)
    finally:
        await ws.close()
        await manager.close()
        await waiter.close()


async def test_only_statistics_or_accounts_watch_the_bars(
    server: ServerProcess, admin: Api
) -> None:
    ws = await WsClient.connect(server.ws_url)
    try:
        await ws.send({"type": "subscribe", "channel": "bars:0", "id": 1})
        refused = await ws.until(lambda m: m["type"] == "error")
        assert refused["code"] in {"authentication_required", "forbidden"}
        await ws.send({"type": "auth", "token": await support.staff_token(admin, "waiter")})
        await ws.until(lambda m: m["type"] == "authenticated")
        await ws.send({"type": "subscribe", "channel": "bars:0", "id": 2})
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] == "forbidden"
        await ws.send({"type": "subscribe", "channel": "bars:7", "id": 3})
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] in {
            "forbidden",
            "unknown_channel",
        }
    finally:
        await ws.close()
