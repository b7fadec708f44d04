"""A day's trade to read statements of: a desk with its own point of sale (tickets, an
article, a refund, a cash operation, a wallet top-up, a blind close), the e-shop (a sale and
a refund), a bar (a wallet debit) and an unpaid reservation, all in one fresh session."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.cash.helpers import FLOAT, cashier, new_register, open_session
from tests.support import Api, ServerProcess
from tests.wallet.helpers import debit, new_bar, pass_code, top_up

FULL, REDUCED = 1500, 1000
FULL_RATE, REDUCED_RATE = 550, 2000
ARTICLE_PRICE, ARTICLE_RATE = 450, 2000


def period() -> dict[str, str]:
    today = datetime.now(UTC).date()
    return {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}


def tax(gross: int, rate: int) -> int:
    return (2 * gross * rate + 10000 + rate) // (2 * (10000 + rate))


@dataclass
class Trade:
    session_id: int = 0
    tariffs: list[int] = field(default_factory=list)
    point_of_sale_id: int = 0
    register_id: int = 0
    register_session_id: int = 0
    cashier_id: int = 0
    bar_point_id: int = 0
    article_name: str = ""
    z: dict[str, Any] = field(default_factory=dict)


async def new_session(admin: Api) -> tuple[int, list[int]]:
    venue = (await admin.http.post("/api/venues", json={"name": "Statements"})).json()["id"]
    room = (await admin.http.post(f"/api/venues/{venue}/rooms", json={"name": "R"})).json()
    body = {
        "room_id": room["id"],
        "event_name": f"Statement {uuid.uuid4().hex[:6]}",
        "starts_at": "2030-06-01T19:00:00+00:00",
        "ends_at": "2030-06-01T22:00:00+00:00",
        "seated": False,
        "capacity": 1000,
        "tariffs": [
            {"name": "Full", "price_cents": FULL, "tax_rate_bp": FULL_RATE},
            {"name": "Reduced", "price_cents": REDUCED, "tax_rate_bp": REDUCED_RATE},
        ],
    }
    r = await admin.http.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"], [t["id"] for t in r.json()["tariffs"]]


async def order(api: Api, session_id: int, tariff: int, n: int, **extra: Any) -> dict[str, Any]:
    hold = await api.http.post(f"/api/sessions/{session_id}/holds", json={"quantity": n})
    assert hold.status_code == 200, hold.text
    body = {
        "hold_token": hold.json()["token"],
        "idempotency_key": uuid.uuid4().hex,
        "items": [{"tariff_id": tariff, "quantity": n}],
        **extra,
    }
    r = await api.http.post(f"/api/sessions/{session_id}/orders", json=body)
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def new_article(admin: Api, name: str) -> int:
    family = await admin.http.post("/api/article-families", json={"name": uuid.uuid4().hex})
    body = {
        "family_id": family.json()["id"],
        "name": name,
        "price_cents": ARTICLE_PRICE,
        "tax_rate_bp": ARTICLE_RATE,
    }
    r = await admin.http.post("/api/articles", json=body)
    assert r.status_code == 201, r.text
    article_id: int = r.json()["id"]
    return article_id


async def desk_day(admin: Api, server: ServerProcess, t: Trade) -> None:
    """Two Full in cash, one Reduced by card, two articles split, one Full refunded in
    cash, a credit of 5.00, a 20.00 top-up in cash, then a blind close."""
    t.register_id = await new_register(admin)
    reg = (await admin.http.get("/api/registers")).json()["registers"]
    t.point_of_sale_id = next(r for r in reg if r["id"] == t.register_id)["point_of_sale_id"]
    desk = await cashier(admin, server, "pos", "refund", "wallet_manager")
    try:
        t.cashier_id = (await desk.http.get("/api/auth/me")).json()["id"]
        rs = t.register_session_id = await open_session(desk, t.register_id)
        pay = [{"method": "cash", "amount_cents": 2 * FULL, "given_cents": 5000}]
        sold = await order(
            desk, t.session_id, t.tariffs[0], 2, register_session_id=rs, payments=pay
        )
        pay = [{"method": "card", "amount_cents": REDUCED}]
        await order(desk, t.session_id, t.tariffs[1], 1, register_session_id=rs, payments=pay)
        article = await new_article(admin, t.article_name)
        sale = {
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"article_id": article, "quantity": 2}],
            "payments": [
                {"method": "cash", "amount_cents": 100},
                {"method": "card", "amount_cents": 2 * ARTICLE_PRICE - 100},
            ],
        }
        r = await desk.http.post(f"/api/register-sessions/{rs}/sales", json=sale)
        assert r.status_code == 201, r.text
        refund = {
            "register_session_id": rs,
            "method": "cash",
            "ticket_ids": [sold["tickets"][0]["id"]],
        }
        r = await desk.http.post(
            f"/api/journal/{sold['receipt']['journal_id']}/refund", json=refund
        )
        assert r.status_code == 201, r.text
        op = {"kind": "credit", "amount_cents": 500, "reason": "change"}
        r = await desk.http.post(f"/api/register-sessions/{rs}/operations", json=op)
        assert r.status_code == 201, r.text
        _, code = await pass_code(admin)
        r = await top_up(desk, code, 2000, rs, given_cents=2000)
        assert r.status_code == 201, r.text
        point, bar = await new_bar(admin)
        t.bar_point_id = point
        r = await debit(admin, code, bar, 700, tax_rate_bp=ARTICLE_RATE)
        assert r.status_code == 201, r.text
        await order(desk, t.session_id, t.tariffs[0], 3, reservation=True, buyer={"name": "Unpaid"})
        r = await desk.http.post(f"/api/register-sessions/{rs}/close", json={"counted": FLOAT})
        assert r.status_code == 200, r.text
        t.z = r.json()
    finally:
        await desk.close()


async def shop_day(admin: Api, server: ServerProcess, t: Trade) -> None:
    """The e-shop sells two Reduced; one is refunded at the door's refund."""
    buyer = Api(server.url)
    try:
        bought = await order(buyer, t.session_id, t.tariffs[1], 2)
    finally:
        await buyer.close()
    r = await admin.http.post(f"/api/tickets/{bought['tickets'][1]['id']}/refund")
    assert r.status_code == 200, r.text


async def trade(admin: Api, server: ServerProcess) -> Trade:
    t = Trade(article_name=f"=Cup {uuid.uuid4().hex[:4]}")
    t.session_id, t.tariffs = await new_session(admin)
    await desk_day(admin, server, t)
    await shop_day(admin, server, t)
    return t
