"""Paying for a shop order with the test provider: success, failure, abandonment, signed
and idempotent webhooks, the buyer's return before the webhook, free and desk orders."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from tests.conftest import SmtpSink
from tests.payments.support import (
    choose,
    db,
    order_page,
    payment_ref,
    payment_row,
    pending_order,
    tickets_of,
    webhook,
)
from tests.support import Api, ServerProcess, redis_seats, sold_in_postgres, staff_token


@pytest.fixture
async def shopper(paying_server: ServerProcess) -> AsyncIterator[Api]:
    api = Api(paying_server.url)
    yield api
    await api.close()


async def test_a_paid_order_gets_its_tickets_and_its_email(
    admin: Api, shopper: Api, smtp_sink: SmtpSink
) -> None:
    s = await admin.create_session(n_seats=20)
    email = f"grace.{uuid.uuid4().hex[:8]}@example.org"  # the sink keeps other tests' mail
    order = await pending_order(shopper, s, s.seat_ids[:2], email)
    assert await tickets_of(order["id"]) == []
    assert s.seat_ids and await sold_in_postgres(s.id) == set()

    page = await shopper.http.get(order["payment"]["redirect_url"])
    assert page.status_code == 200 and "TEST" in page.text and "30.00 EUR" in page.text
    r = await choose(shopper, order, "success")
    assert r.headers["location"].endswith(f"/order.html#{order['link']}")

    view = await order_page(shopper, order)
    assert view["status"] == "confirmed" and view["payment_status"] == "succeeded"
    assert [t["seat_id"] for t in view["tickets"]] == s.seat_ids[:2]
    assert all(t["code"] and t["tariff"] == "Full" for t in view["tickets"])
    assert await sold_in_postgres(s.id) == {0, 1}
    seats = await redis_seats(s.id)
    assert seats[0] == seats[1] == "s"

    message = await smtp_sink.wait_for(email)
    text = message.get_body(("plain",)).get_content()
    assert f"/order.html#{order['link']}" in text
    (pdf,) = list(message.iter_attachments())
    assert pdf.get_content_type() == "application/pdf"
    assert pdf.get_content().startswith(b"%PDF")


@pytest.mark.parametrize("choice", ["failure", "abandon"])
async def test_a_failed_or_abandoned_payment_releases_the_seats(
    admin: Api, shopper: Api, choice: str
) -> None:
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:1])
    assert (await redis_seats(s.id))[0].startswith("h")
    await choose(shopper, order, choice)
    view = await order_page(shopper, order)
    assert view["status"] == "failed" and view["tickets"] == []
    assert (await payment_row(order["id"]))["status"] == (
        "failed" if choice == "failure" else "abandoned"
    )
    assert 0 not in await redis_seats(s.id)  # free again
    # a second choice on the hosted page changes nothing
    r = await shopper.http.post(order["payment"]["redirect_url"], data={"choice": "success"})
    assert r.status_code == 303
    assert (await order_page(shopper, order))["status"] == "failed"


async def test_a_webhook_delivered_twice_changes_nothing_the_second_time(
    admin: Api, shopper: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:1])
    ref = payment_ref(order)
    first = await webhook(shopper, ref, "succeeded", "evt-twice-" + ref)
    assert first.status_code == 200 and first.json() == {"changed": True}
    again = await webhook(shopper, ref, "succeeded", "evt-twice-" + ref)
    assert again.status_code == 200 and again.json() == {"changed": False}
    # another event saying the payment failed cannot undo a paid order either
    late = await webhook(shopper, ref, "failed")
    assert late.json() == {"changed": False}
    assert len(await tickets_of(order["id"])) == 1
    assert (await order_page(shopper, order))["status"] == "confirmed"


async def test_the_webhook_may_come_before_or_after_the_buyers_return(
    admin: Api, shopper: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    # webhook first, then the return: the return changes nothing
    early = await pending_order(shopper, s, s.seat_ids[:1])
    assert (await webhook(shopper, payment_ref(early), "succeeded")).json()["changed"]
    r = await shopper.http.post(f"/api/orders/by-link/{early['link']}/return")
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    # the provider decided but its webhook is late: the return asks it and confirms
    late = await pending_order(shopper, s, s.seat_ids[1:2])
    conn = await db()
    try:
        await conn.execute(
            "UPDATE test_payments SET status = 'succeeded' WHERE id = $1", payment_ref(late)
        )
    finally:
        await conn.close()
    r = await shopper.http.post(f"/api/orders/by-link/{late['link']}/return")
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    assert (await webhook(shopper, payment_ref(late), "succeeded")).json()["changed"] is False
    assert len(await tickets_of(late["id"])) == 1


async def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(
    admin: Api, shopper: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:1])
    r = await webhook(shopper, payment_ref(order), "succeeded", secret=b"not the secret")
    assert r.status_code == 400 and r.json()["error"]["code"] == "bad_signature"
    assert (await order_page(shopper, order))["status"] == "pending"
    assert await tickets_of(order["id"]) == []


async def test_the_same_key_again_returns_the_pending_order_and_its_payment(
    admin: Api, shopper: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    r = await shopper.hold(s.id, s.seat_ids[:1])
    body = {
        "hold_token": r.json()["token"],
        "idempotency_key": "same-key-" + r.json()["token"][:10],
        "items": [{"seat": s.seat_ids[0], "tariff_id": s.tariff_ids[1]}],
    }
    first = await shopper.http.post(f"/api/sessions/{s.id}/orders", json=body)
    again = await shopper.http.post(f"/api/sessions/{s.id}/orders", json=body)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["payment"] == first.json()["payment"]
    assert again.json()["total_cents"] == 1000


async def test_a_free_order_skips_payment(admin: Api, shopper: Api) -> None:
    s = await admin.create_session(n_seats=10)
    r = await admin.http.post(
        f"/api/sessions/{s.id}/tariffs",
        json={"name": "Invitation", "price_cents": 0, "currency": "EUR"},
    )
    assert r.status_code == 201, r.text
    free = r.json()["id"]
    token = (await shopper.hold(s.id, s.seat_ids[:1])).json()["token"]
    r = await shopper.buy(s.id, token, s.seat_ids[:1], free)
    assert r.status_code == 201, r.text
    order = r.json()
    assert order["status"] == "confirmed" and "payment" not in order
    assert len(order["tickets"]) == 1 and order["link"]
    view = await order_page(shopper, order)
    assert view["tickets"][0]["code"]


async def test_a_desk_order_is_sold_at_once(admin: Api, paying_server: ServerProcess) -> None:
    s = await admin.create_session(n_seats=10)
    cashier = Api(paying_server.url, await staff_token(admin, "pos"))
    try:
        token = (await cashier.hold(s.id, s.seat_ids[:1])).json()["token"]
        r = await cashier.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0])
    finally:
        await cashier.close()
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "confirmed" and r.json()["channel"] == "pos"
    assert "payment" not in r.json() and len(r.json()["tickets"]) == 1


async def test_an_order_link_that_is_not_ours_is_unknown(shopper: Api) -> None:
    r = await shopper.http.get("/api/orders/by-link/1.AAAAAAAAAAAAAAAAAAAAAAAA")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_order"
