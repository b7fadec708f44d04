"""The shop's cart: seats of several sessions, a pass and an article in one order paid
once; one countdown whose end releases every hold; the last unit of an article sold once;
a failed payment gives everything back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from tests.conftest import SmtpSink
from tests.payments.support import choose, db, order_page, payment_row, tickets_of
from tests.payments.test_my_tickets import signin_link
from tests.seating.test_outbox import eventually
from tests.shop.helpers import (
    add_article,
    add_pass,
    checkout,
    new_cart,
    online_article,
    online_pass_type,
    products_of,
    put_seats,
    stock,
)
from tests.support import Api, ServerProcess, redis_seats, sold_in_postgres

pytestmark = pytest.mark.slow


@pytest.fixture
async def shopper(paying_server: ServerProcess) -> AsyncIterator[Api]:
    api = Api(paying_server.url)
    yield api
    await api.close()


async def test_two_sessions_a_pass_and_an_article_are_one_order_paid_once(
    admin: Api, shopper: Api, smtp_sink: SmtpSink
) -> None:
    first = await admin.create_session(n_seats=10)
    second = await admin.create_session(n_seats=10)
    pass_type = await online_pass_type(admin, price_cents=4500)
    programme = await online_article(admin, stock=5, price_cents=500)
    cart = await new_cart(shopper)
    await put_seats(shopper, cart, first, first.seat_ids[:2])
    await put_seats(shopper, cart, second, second.seat_ids[3:4])
    await add_pass(shopper, cart, pass_type["id"])
    cart = await add_article(shopper, cart, programme["id"], 2)
    price = first.detail["tariffs"][0]["price_cents"]
    assert [s["session_id"] for s in cart["sessions"]] == [first.id, second.id]
    assert cart["total_cents"] == 3 * price + 4500 + 2 * 500

    email = f"grace-{uuid.uuid4().hex[:8]}@example.org"
    r = await checkout(shopper, cart, email=email)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "pending" and order["kind"] == "cart"
    assert order["payment"]["amount_cents"] == 3 * price + 4500 + 1000
    assert await stock(programme["id"]) == 3  # taken at the checkout
    assert await tickets_of(order["id"]) == []

    await choose(shopper, order, "success")
    view = await order_page(shopper, order)
    assert view["status"] == "confirmed" and view["payment_status"] == "succeeded"
    by_session = sorted((t["session"]["id"], t["seat_id"]) for t in view["tickets"])
    assert by_session == sorted(
        [
            (first.id, first.seat_ids[0]),
            (first.id, first.seat_ids[1]),
            (second.id, second.seat_ids[3]),
        ]
    )
    assert all(t["code"] for t in view["tickets"])
    assert sorted(p["quantity"] for p in view["products"]) == [1, 2]
    assert await sold_in_postgres(first.id) == {0, 1}
    assert await sold_in_postgres(second.id) == {3}
    assert (await redis_seats(second.id))[3] == "s"
    assert await stock(programme["id"]) == 3

    products = await products_of(order["id"])
    pass_line = next(p for p in products if p["pass_id"] is not None)
    assert (pass_line["gross_cents"], pass_line["tax_rate_bp"]) == (4500, 550)
    assert pass_line["net_cents"] + pass_line["tax_cents"] == 4500 and pass_line["tax_cents"] > 0
    conn = await db()
    try:
        holder = await conn.fetchval(
            "SELECT holder_name FROM passes WHERE id = $1", pass_line["pass_id"]
        )
    finally:
        await conn.close()
    assert holder == "Ada King"
    message = await smtp_sink.wait_for(email)
    text = message.get_body(("plain",)).get_content()
    assert f"/order.html#{order['link']}" in text and "(3 billet(s))" in text

    again = await checkout(shopper, cart, "other-key-123")
    assert (again.status_code, again.json()["error"]["code"]) == (409, "cart_checked_out")

    # the sales statement has every line of the order, tickets, pass and article alike
    today = datetime.now(UTC).date()
    period = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    lines: list[dict[str, Any]] = []
    offset: int | None = 0
    while offset is not None:
        params: dict[str, str | int] = {**period, "channel": "eshop", "limit": 500}
        params["offset"] = offset
        r = await admin.http.get("/api/statements/sales", params=params)
        assert r.status_code == 200, r.text
        lines += [ln for ln in r.json()["lines"] if ln["order_id"] == order["id"]]
        offset = r.json().get("next_offset")
    assert len(lines) == 5 and sum(ln["gross_cents"] for ln in lines) == order["total_cents"]
    assert all(ln["net_cents"] + ln["tax_cents"] == ln["gross_cents"] for ln in lines)


async def test_the_end_of_the_countdown_releases_every_hold_of_the_cart(
    admin: Api, shopper: Api
) -> None:
    first = await admin.create_session(n_seats=10)
    second = await admin.create_session(n_seats=10)
    cart = await new_cart(shopper, hold_seconds=2)
    await put_seats(shopper, cart, first, first.seat_ids[:1])  # holds of the full hold time
    cart = await put_seats(shopper, cart, second, second.seat_ids[:2])
    assert cart["expires_in_ms"] <= 2000
    assert (await redis_seats(first.id))[0].startswith("h")

    async def released() -> bool:
        return not await redis_seats(first.id) and not await redis_seats(second.id)

    await eventually(released, within=10)
    view = (await shopper.http.get(f"/api/carts/{cart['id']}")).json()
    assert view["status"] == "expired"
    r = await checkout(shopper, cart)
    assert (r.status_code, r.json()["error"]["code"]) == (410, "cart_expired")
    taken = await shopper.hold(second.id, second.seat_ids[:2])
    assert taken.status_code == 200, taken.text


async def test_more_time_extends_every_hold_of_the_cart(admin: Api, shopper: Api) -> None:
    first = await admin.create_session(n_seats=10)
    second = await admin.create_session(n_seats=10)
    cart = await new_cart(shopper, hold_seconds=3)
    await put_seats(shopper, cart, first, first.seat_ids[:1], hold_seconds=3)
    cart = await put_seats(shopper, cart, second, second.seat_ids[:1], hold_seconds=3)
    for _ in range(3):
        await asyncio.sleep(1.5)
        r = await shopper.http.post(f"/api/carts/{cart['id']}/extend")
        assert r.status_code == 200, r.text
    assert r.json()["status"] == "open" and len(r.json()["sessions"]) == 2
    assert (await redis_seats(first.id))[0].startswith("h")
    assert (await redis_seats(second.id))[0].startswith("h")


async def test_of_two_checkouts_of_the_last_unit_exactly_one_succeeds(
    admin: Api, shopper: Api
) -> None:
    last = await online_article(admin, stock=1)
    carts = [await new_cart(shopper) for _ in range(2)]
    for cart in carts:
        await add_article(shopper, cart, last["id"], 1)
    answers = await asyncio.gather(*(checkout(shopper, cart) for cart in carts))
    assert sorted(a.status_code for a in answers) == [201, 409]
    refused = next(a for a in answers if a.status_code == 409)
    assert refused.json()["error"]["code"] == "out_of_stock"
    assert await stock(last["id"]) == 0
    conn = await db()
    try:
        orders = await conn.fetchval(
            "SELECT count(*) FROM carts WHERE id = ANY($1::text[]) AND order_id IS NOT NULL",
            [c["id"] for c in carts],
        )
    finally:
        await conn.close()
    assert orders == 1


async def test_a_failed_payment_gives_back_the_stock_and_every_hold(
    admin: Api, shopper: Api
) -> None:
    first = await admin.create_session(n_seats=10)
    second = await admin.create_session(n_seats=10)
    programme = await online_article(admin, stock=2)
    cart = await new_cart(shopper)
    await put_seats(shopper, cart, first, first.seat_ids[:1])
    await put_seats(shopper, cart, second, second.seat_ids[:1])
    await add_article(shopper, cart, programme["id"], 2)
    order = (await checkout(shopper, cart)).json()
    assert await stock(programme["id"]) == 0
    await choose(shopper, order, "failure")
    view = await order_page(shopper, order)
    assert view["status"] == "failed" and view["tickets"] == []
    assert await stock(programme["id"]) == 2
    assert not await redis_seats(first.id) and not await redis_seats(second.id)
    assert (await payment_row(order["id"]))["status"] == "failed"


async def test_a_cart_refuses_what_is_not_sold_online_and_tariffs_of_other_seats(
    admin: Api, shopper: Api
) -> None:
    plain = await online_article(admin, stock=3)
    r = await admin.http.patch(f"/api/articles/{plain['id']}", json={"sold_online": False})
    assert r.status_code == 200, r.text
    cart = await new_cart(shopper)
    r = await shopper.http.put(
        f"/api/carts/{cart['id']}/articles/{plain['id']}", json={"quantity": 1}
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "not_sold_online")
    s = await admin.create_session(n_seats=10)
    held = await shopper.hold(s.id, s.seat_ids[:1])
    r = await shopper.http.put(
        f"/api/carts/{cart['id']}/sessions/{s.id}",
        json={
            "hold_token": held.json()["token"],
            "items": [{"seat": s.seat_ids[1], "tariff_id": s.tariff_ids[0]}],
        },
    )
    assert (r.status_code, r.json()["error"]["code"]) == (409, "seats_not_held")
    r = await checkout(shopper, cart)
    assert (r.status_code, r.json()["error"]["code"]) == (400, "empty_cart")


async def test_without_a_provider_a_cart_with_places_is_sold_at_once(
    admin: Api, buyer: Api
) -> None:
    """A server that sells unpaid (the suite's default): the checkout delivers every line
    in its own transaction, general-admission places included."""
    seated = await admin.create_session(n_seats=10)
    ga = await admin.create_session(seated=False, capacity=5)
    pass_type = await online_pass_type(admin)
    cart = await new_cart(buyer)
    await put_seats(buyer, cart, seated, seated.seat_ids[4:5])
    held = await buyer.hold(ga.id, quantity=2)
    assert held.status_code == 200, held.text
    r = await buyer.http.put(
        f"/api/carts/{cart['id']}/sessions/{ga.id}",
        json={
            "hold_token": held.json()["token"],
            "items": [{"tariff_id": ga.tariff_ids[1], "quantity": 2}],
        },
    )
    assert r.status_code == 200, r.text
    await add_pass(buyer, cart, pass_type["id"])
    r = await checkout(buyer, cart, "same-key-1234")
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed" and r.json()["tickets"] == 3
    again = await checkout(buyer, cart, "same-key-1234")
    assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    assert await sold_in_postgres(seated.id) == {4}
    assert len(await tickets_of(r.json()["id"])) == 3
    assert (await redis_seats(seated.id))[4] == "s"
    conn = await db()
    try:
        sold = await conn.fetchval("SELECT sold FROM ga_counters WHERE session_id = $1", ga.id)
    finally:
        await conn.close()
    assert sold == 2
    assert [p["pass_id"] is not None for p in await products_of(r.json()["id"])] == [True]


async def test_my_tickets_lists_a_cart_order_pending_then_paid(
    admin: Api, shopper: Api, smtp_sink: SmtpSink
) -> None:
    first = await admin.create_session(n_seats=10)
    second = await admin.create_session(n_seats=10)
    email = f"cart-{uuid.uuid4().hex[:8]}@example.org"
    cart = await new_cart(shopper)
    await put_seats(shopper, cart, first, first.seat_ids[:1])
    await put_seats(shopper, cart, second, second.seat_ids[:2])
    r = await shopper.http.post(
        f"/api/carts/{cart['id']}/checkout",
        json={"idempotency_key": uuid.uuid4().hex, "buyer": {"name": "Bo", "email": email}},
    )
    assert r.status_code == 201, r.text
    order = r.json()
    link = await signin_link(shopper, smtp_sink, email)
    mine = (await shopper.http.post("/api/my-tickets/orders", json={"token": link})).json()
    (listed,) = mine["orders"]
    assert (listed["id"], listed["status"], listed["tickets"]) == (order["id"], "pending", 3)
    assert listed["session"]["id"] == first.id  # the first ticket's session
    await choose(shopper, order, "success")
    mine = (await shopper.http.post("/api/my-tickets/orders", json={"token": link})).json()
    assert (mine["orders"][0]["status"], mine["orders"][0]["tickets"]) == ("confirmed", 3)
    assert mine["orders"][0]["products"] == 0


async def test_my_tickets_lists_a_cart_of_a_pass_and_an_article_only(
    admin: Api, shopper: Api, smtp_sink: SmtpSink
) -> None:
    pass_type = await online_pass_type(admin)
    programme = await online_article(admin, stock=5)
    email = f"products-{uuid.uuid4().hex[:8]}@example.org"
    cart = await new_cart(shopper)
    await add_pass(shopper, cart, pass_type["id"])
    await add_article(shopper, cart, programme["id"], 2)
    r = await checkout(shopper, cart, email=email)
    assert r.status_code == 201, r.text
    order = r.json()
    link = await signin_link(shopper, smtp_sink, email)
    mine = (await shopper.http.post("/api/my-tickets/orders", json={"token": link})).json()
    (listed,) = mine["orders"]
    assert (listed["id"], listed["status"], listed["session"]) == (order["id"], "pending", None)
    assert (listed["tickets"], listed["products"]) == (0, 2)  # a pass, an article line
    await choose(shopper, order, "success")
    mine = (await shopper.http.post("/api/my-tickets/orders", json={"token": link})).json()
    (listed,) = mine["orders"]
    assert (listed["status"], listed["tickets"], listed["products"]) == ("confirmed", 0, 2)
