"""Articles sold with tickets in one desk order: one journal entry for both, the stock
taken in the order's transaction; short stock sells nothing and keeps the hold; a refund
frees the seats and gives the units back; the e-shop cannot sell articles."""

from __future__ import annotations

import uuid
from typing import Any

from tests.articles.helpers import article, point_with_register, stock_of
from tests.cash.helpers import cashier, open_session, verify
from tests.support import Api, ServerProcess, SessionInfo, sold_in_postgres


def order(
    session: SessionInfo, token: str, seats: list[str], rs: int | None, articles: Any, paid: int
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "hold_token": token,
        "idempotency_key": uuid.uuid4().hex,
        "items": [{"seat": s, "tariff_id": session.tariff_ids[0]} for s in seats],
        "articles": articles,
    }
    if rs is not None:
        body["register_session_id"] = rs
        body["payments"] = [{"method": "cash", "amount_cents": paid}]
    return body


async def test_tickets_and_articles_of_one_desk_order_are_one_entry(
    server: ServerProcess, admin: Api
) -> None:
    _, register_id = await point_with_register(admin)
    programme = await article(admin, name="Programme", stock=3, price_cents=500, tax_rate_bp=550)
    s = await admin.create_session()
    price = s.detail["tariffs"][0]["price_cents"]
    seats = s.seat_ids[:2]
    api = await cashier(admin, server, "pos", "refund")
    try:
        rs = await open_session(api, register_id)
        token = (await api.hold(s.id, seats)).json()["token"]
        url = f"/api/sessions/{s.id}/orders"
        short = [{"article_id": programme["id"], "quantity": 4}]
        refused = await api.http.post(url, json=order(s, token, seats, rs, short, 2 * price + 2000))
        some = [{"article_id": programme["id"], "quantity": 2}]
        sold = await api.http.post(url, json=order(s, token, seats, rs, some, 2 * price + 1000))
        assert sold.status_code == 201, sold.text
        entry_id = sold.json()["receipt"]["journal_id"]
        journal = (await api.http.get(f"/api/register-sessions/{rs}/journal")).json()
        refund = await api.http.post(
            f"/api/journal/{entry_id}/refund", json={"register_session_id": rs}
        )
    finally:
        await api.close()
    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "out_of_stock")
    entry = next(e for e in journal["entries"] if e["id"] == entry_id)
    assert entry["total_cents"] == 2 * price + 1000
    assert [(ln["ticket_id"] is None, ln["article_id"]) for ln in entry["lines"]] == [
        (False, None),
        (False, None),
        (True, programme["id"]),
    ]
    assert refund.status_code == 201, refund.text
    assert refund.json()["total_cents"] == -(2 * price + 1000)
    assert refund.json()["articles"] == [{"article_id": programme["id"], "quantity": 2}]
    assert await stock_of(programme["id"]) == 3
    assert await sold_in_postgres(s.id) == set()
    assert await verify(register_id) is None


async def test_the_shop_cannot_sell_articles(admin: Api, buyer: Api) -> None:
    water = await article(admin, name="Eau", stock=5, price_cents=200)
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    body = order(s, token, s.seat_ids[:1], None, [{"article_id": water["id"], "quantity": 1}], 0)
    r = await buyer.http.post(f"/api/sessions/{s.id}/orders", json=body)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "articles_need_register")
    assert await stock_of(water["id"]) == 5
