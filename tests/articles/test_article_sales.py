"""Articles sold at a register: the stock goes down in the sale's transaction, the journal
gets a line per article with its tax snapshotted, a refund gives the units back as a new
entry, and a refused sale changes nothing."""

from __future__ import annotations

import uuid

from tests.articles.helpers import article, point_with_register, sell, stock_of
from tests.cash.helpers import cashier, open_session, verify
from tests.support import Api, ServerProcess


async def test_a_sale_takes_the_stock_and_journals_one_line_per_article(
    server: ServerProcess, admin: Api
) -> None:
    _, register_id = await point_with_register(admin)
    beer = await article(admin, stock=20, price_cents=550, tax_rate_bp=2000)
    water = await article(admin, name="Eau", stock=None, price_cents=200, tax_rate_bp=550)
    api = await cashier(admin, server)
    try:
        rs = await open_session(api, register_id)
        r = await sell(api, rs, [(beer["id"], 2), (water["id"], 1), (beer["id"], 1)], 1850)
        assert r.status_code == 201, r.text
        entry = r.json()
        # The tariff changes later; the journalled line keeps what it was sold at.
        await admin.http.patch(f"/api/articles/{beer['id']}", json={"tax_rate_bp": 550})
        journal = (await api.http.get(f"/api/register-sessions/{rs}/journal")).json()
    finally:
        await api.close()
    assert entry["kind"] == "sale" and entry["total_cents"] == 1850
    lines = {ln["article_id"]: ln for ln in entry["lines"]}
    assert lines[beer["id"]]["quantity"] == 3  # the two items of one article are one line
    assert lines[beer["id"]]["gross_cents"] == 1650
    assert lines[beer["id"]]["tax_cents"] == 275  # 1650 * 2000 / 12000
    assert lines[water["id"]]["tax_cents"] == 10  # 200 * 550 / 10550 = 10.4
    assert entry["tax_cents"] == 285 and entry["net_cents"] == 1850 - 285
    assert journal["entries"][0]["lines"][0]["tax_rate_bp"] == 2000
    assert await stock_of(beer["id"]) == 17
    assert await stock_of(water["id"]) is None
    assert await verify(register_id) is None  # the article lines are in the chain


async def test_a_retry_with_the_same_key_returns_the_first_entry_and_takes_nothing_more(
    server: ServerProcess, admin: Api
) -> None:
    _, register_id = await point_with_register(admin)
    beer = await article(admin, stock=5)
    api = await cashier(admin, server)
    key = uuid.uuid4().hex
    try:
        rs = await open_session(api, register_id)
        first = await sell(api, rs, [(beer["id"], 2)], 1000, key=key)
        again = await sell(api, rs, [(beer["id"], 2)], 1000, key=key)
        other = await sell(api, rs, [(beer["id"], 1)], 500, key=key)
    finally:
        await api.close()
    assert (first.status_code, again.status_code) == (201, 200), again.text
    assert again.json() == first.json()
    assert (other.status_code, other.json()["error"]["code"]) == (422, "idempotency_key_mismatch")
    assert await stock_of(beer["id"]) == 3


async def test_out_of_stock_names_each_article_short_and_changes_nothing(
    server: ServerProcess, admin: Api
) -> None:
    _, register_id = await point_with_register(admin)
    beer = await article(admin, stock=2)
    soda = await article(admin, name="Soda", stock=1, price_cents=300)
    chips = await article(admin, name="Chips", stock=10, price_cents=200)
    api = await cashier(admin, server)
    try:
        rs = await open_session(api, register_id)
        r = await sell(api, rs, [(beer["id"], 3), (soda["id"], 2), (chips["id"], 1)], 2300)
        bad_pay = await sell(api, rs, [(chips["id"], 1)], 199)
        journal = (await api.http.get(f"/api/register-sessions/{rs}/journal")).json()
    finally:
        await api.close()
    assert r.status_code == 409 and r.json()["error"]["code"] == "out_of_stock", r.text
    assert r.json()["error"]["articles"] == [
        {"article_id": beer["id"], "requested": 3, "stock": 2},
        {"article_id": soda["id"], "requested": 2, "stock": 1},
    ]
    assert (bad_pay.status_code, bad_pay.json()["error"]["code"]) == (400, "payments_mismatch")
    assert bad_pay.json()["error"]["total_cents"] == 200
    assert [await stock_of(a["id"]) for a in (beer, soda, chips)] == [2, 1, 10]
    assert [e["kind"] for e in journal["entries"]] == ["float"]  # no receipt number taken
    assert await verify(register_id) is None


async def test_an_article_allowed_below_zero_is_sold_past_its_stock(
    server: ServerProcess, admin: Api
) -> None:
    _, register_id = await point_with_register(admin)
    cup = await article(admin, name="Gobelet", stock=1, price_cents=100, allow_negative=True)
    api = await cashier(admin, server)
    try:
        rs = await open_session(api, register_id)
        r = await sell(api, rs, [(cup["id"], 3)], 300)
        listed = await api.http.get("/api/articles", params={"all": "1"})
    finally:
        await api.close()
    assert r.status_code == 201, r.text
    assert await stock_of(cup["id"]) == -2
    shown = next(a for a in listed.json()["articles"] if a["id"] == cup["id"])
    assert shown["stock"] == -2
    edit = await admin.http.patch(f"/api/articles/{cup['id']}", json={"allow_negative": False})
    assert (edit.status_code, edit.json()["error"]["code"]) == (409, "stock_below_zero")


async def test_a_refund_gives_the_units_back_whole_or_some_as_a_new_entry(
    server: ServerProcess, admin: Api
) -> None:
    _, register_id = await point_with_register(admin)
    beer = await article(admin, stock=10, price_cents=500, tax_rate_bp=2000)
    shirt = await article(admin, name="T-shirt", stock=4, price_cents=2000)
    api = await cashier(admin, server, "pos", "refund")
    try:
        rs = await open_session(api, register_id)
        sale = (await sell(api, rs, [(beer["id"], 3), (shirt["id"], 1)], 3500)).json()
        url = f"/api/journal/{sale['id']}/refund"
        some = {"register_session_id": rs, "articles": [{"article_id": beer["id"], "quantity": 1}]}
        one = await api.http.post(url, json=some)
        assert await stock_of(beer["id"]) == 8
        rest = await api.http.post(url, json={"register_session_id": rs, "method": "card"})
        again = await api.http.post(url, json=some)
        nothing = await api.http.post(url, json={"register_session_id": rs})
        journal = (await api.http.get(f"/api/register-sessions/{rs}/journal")).json()
        report = (await api.http.get(f"/api/register-sessions/{rs}/report")).json()["report"]
    finally:
        await api.close()
    assert report["tickets_by_tariff"] == []
    assert {a["article_id"]: a["units"] for a in report["articles"]} == {
        beer["id"]: 0,
        shirt["id"]: 0,
    }
    assert report["cash_sales_cents"] == 3500 and report["card_refunds_cents"] == 3000
    assert one.status_code == 201, one.text
    assert one.json()["total_cents"] == -500
    assert one.json()["articles"] == [{"article_id": beer["id"], "quantity": 1}]
    assert rest.status_code == 201, rest.text
    assert rest.json()["total_cents"] == -3000  # the two beers and the shirt left
    assert (again.status_code, again.json()["error"]["code"]) == (409, "already_refunded")
    assert (nothing.status_code, nothing.json()["error"]["code"]) == (409, "already_refunded")
    assert await stock_of(beer["id"]) == 10 and await stock_of(shirt["id"]) == 4
    refunds = [e for e in journal["entries"] if e["kind"] == "refund"]
    assert [e["reverses_id"] for e in refunds] == [sale["id"], sale["id"]]
    sold = next(e for e in journal["entries"] if e["id"] == sale["id"])
    assert sold["lines"] == sale["lines"]  # the sale itself is never edited
    lines = [ln for e in refunds for ln in e["lines"]]
    assert sum(ln["quantity"] for ln in lines if ln["article_id"] == beer["id"]) == -3
    assert sum(ln["tax_cents"] for ln in lines if ln["article_id"] == beer["id"]) == -250
    assert await verify(register_id) is None


async def test_only_the_sessions_cashier_sells_and_only_while_it_is_open(
    server: ServerProcess, admin: Api
) -> None:
    point, register_id = await point_with_register(admin)
    _, elsewhere_register = await point_with_register(admin)
    beer = await article(admin, stock=10)
    local = await article(admin, name="Local", stock=10, point_of_sale_id=point)
    seller = await cashier(admin, server)
    other = await cashier(admin, server)
    try:
        rs = await open_session(seller, register_id)
        mine = await open_session(other, elsewhere_register)
        not_yours = await sell(other, rs, [(beer["id"], 1)], 500)
        not_here = await sell(other, mine, [(local["id"], 1)], 500)
        unknown = await sell(seller, rs, [(2**40, 1)], 500)
        await seller.http.post(f"/api/register-sessions/{rs}/close", json={"counted": {}})
        closed = await sell(seller, rs, [(beer["id"], 1)], 500)
    finally:
        await seller.close()
        await other.close()
    assert (not_yours.status_code, not_yours.json()["error"]["code"]) == (
        403,
        "not_your_register_session",
    )
    assert (not_here.status_code, not_here.json()["error"]["code"]) == (409, "article_not_here")
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "unknown_article")
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "register_session_closed")
    assert await stock_of(beer["id"]) == 10 and await stock_of(local["id"]) == 10


async def test_restocking_is_signed_with_a_reason_and_audited(
    server: ServerProcess, admin: Api
) -> None:
    beer = await article(admin, stock=3)
    free = await article(admin, name="Carafe", stock=None)
    added = await admin.http.post(
        f"/api/articles/{beer['id']}/stock", json={"delta": 24, "reason": "delivery"}
    )
    broken = await admin.http.post(
        f"/api/articles/{beer['id']}/stock", json={"delta": -2, "reason": "breakage"}
    )
    too_many = await admin.http.post(
        f"/api/articles/{beer['id']}/stock", json={"delta": -100, "reason": "count"}
    )
    uncounted = await admin.http.post(
        f"/api/articles/{free['id']}/stock", json={"delta": 5, "reason": "delivery"}
    )
    audit = await admin.http.get("/api/audit", params={"subject": f"article:{beer['id']}"})
    assert added.status_code == 200 and added.json()["stock"] == 27, added.text
    assert broken.json()["stock"] == 25
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (409, "stock_below_zero")
    assert (uncounted.status_code, uncounted.json()["error"]["code"]) == (409, "not_counted")
    restocks = [e for e in audit.json()["items"] if e["action"] == "article.restock"]
    assert sorted(e["details"]["reason"] for e in restocks) == ["breakage", "delivery"]
