"""A ticket of a paid e-shop order refunded at the back office: its price goes back to the
buyer's payment through the provider, once, even when the refunding process dies after
its commit or after the provider paid (docs/payments.md, "Part refunds")."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import SmtpSink, paying_env, paying_process
from tests.payments.support import choose, db, payment_ref, pending_order, tickets_of
from tests.support import Api, ServerProcess, SessionInfo

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def settling_server(server: ServerProcess, smtp_sink: SmtpSink) -> Iterator[ServerProcess]:
    """A paying server whose refund worker retries every second (30 s by default)."""
    with paying_process(smtp_sink, GUICHET_REFUND_RETRY_S="1") as proc:
        yield proc


@pytest.fixture
async def shopper(settling_server: ServerProcess) -> AsyncIterator[Api]:
    async with Api(settling_server.url) as api:
        yield api


async def paid_order(admin: Api, shopper: Api) -> tuple[SessionInfo, dict[str, Any], list[int]]:
    """Two seats bought and paid through the test provider; the order and its tickets."""
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:2], f"{uuid.uuid4().hex[:8]}@example.org")
    await choose(shopper, order, "success")
    tickets = sorted(t["id"] for t in await tickets_of(order["id"]))
    assert len(tickets) == 2
    return s, order, tickets


async def provider_book(order: dict[str, Any]) -> dict[str, Any]:
    """What the TEST provider says of the order's payment, and the part refunds owed."""
    conn = await db()
    try:
        pay = await conn.fetchrow(
            "SELECT status, amount_cents, refunded_cents FROM test_payments WHERE id = $1",
            payment_ref(order),
        )
        refunds = await conn.fetch(
            "SELECT key, amount_cents FROM test_refunds WHERE payment = $1", payment_ref(order)
        )
        owed = await conn.fetch(
            "SELECT r.status, r.amount_cents, r.ticket_ids, r.refund_ref FROM payment_refunds r"
            " JOIN payments p ON p.id = r.payment_id WHERE p.order_id = $1 ORDER BY r.id",
            order["id"],
        )
    finally:
        await conn.close()
    assert pay is not None
    return {**dict(pay), "refunds": [dict(r) for r in refunds], "owed": [dict(r) for r in owed]}


async def settled(order: dict[str, Any], within: float = 15) -> dict[str, Any]:
    """The book once every part refund of the order is paid (the worker runs each second)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        book = await provider_book(order)
        if book["owed"] and all(r["status"] == "refunded" for r in book["owed"]):
            return book
        assert asyncio.get_running_loop().time() < deadline, f"never settled: {book}"
        await asyncio.sleep(0.2)


async def test_tickets_refunded_one_by_one_give_their_price_back(
    admin: Api, admin_token: str, shopper: Api, settling_server: ServerProcess
) -> None:
    _, order, (first, second) = await paid_order(admin, shopper)
    staff = Api(settling_server.url, admin_token)
    try:
        r = await staff.http.post(f"/api/tickets/{first}/refund")
        assert r.status_code == 200, r.text
        book = await provider_book(order)  # paid in the refund's own request
        price = book["amount_cents"] // 2
        assert book["owed"] == [
            {
                "status": "refunded",
                "amount_cents": price,
                "ticket_ids": [first],
                "refund_ref": book["owed"][0]["refund_ref"],
            }
        ]
        assert book["refunded_cents"] == price and book["status"] == "succeeded"

        r = await staff.http.post(f"/api/tickets/{second}/refund")
        assert r.status_code == 200, r.text
        book = await provider_book(order)
        assert [o["ticket_ids"] for o in book["owed"]] == [[first], [second]]
        assert book["refunded_cents"] == book["amount_cents"] and book["status"] == "refunded"
        assert len(book["refunds"]) == 2

        again = await staff.http.post(f"/api/tickets/{second}/refund")
        assert again.status_code == 409  # refunded once: nothing more is owed
        assert len((await provider_book(order))["owed"]) == 2
    finally:
        await staff.close()


async def test_a_ticket_of_an_order_sold_without_payment_owes_nothing(admin: Api) -> None:
    s = await admin.create_session(n_seats=10)
    held = (await admin.hold(s.id, s.seat_ids[:1])).json()["token"]
    sold = await admin.buy(s.id, held, s.seat_ids[:1], s.tariff_ids[0])
    assert sold.status_code == 201, sold.text
    ticket = sold.json()["tickets"][0]["id"]
    assert (await admin.http.post(f"/api/tickets/{ticket}/refund")).status_code == 200
    conn = await db()
    try:
        owed = await conn.fetchval(
            "SELECT count(*) FROM payment_refunds WHERE $1 = ANY(ticket_ids)", ticket
        )
    finally:
        await conn.close()
    assert owed == 0


@pytest.mark.parametrize(
    "point",
    [
        "door.refund_after_commit",  # the refund committed, the provider never asked
        "payments.part_refund_paid",  # the provider paid, the payment not yet marked
    ],
)
async def test_a_process_dying_after_the_refund_leaves_the_money_to_any_process(
    admin: Api, admin_token: str, shopper: Api, smtp_sink: SmtpSink, point: str
) -> None:
    _, order, (first, _) = await paid_order(admin, shopper)
    dying = ServerProcess(paying_env(smtp_sink, GUICHET_FAILPOINTS=f"{point}=exit"))
    try:
        dying.wait_ready()
        doomed = Api(dying.url, admin_token)
        with pytest.raises(httpx.TransportError):  # the process exits mid-request
            await doomed.http.post(f"/api/tickets/{first}/refund")
        await doomed.close()
    finally:
        dying.stop()

    book = await settled(order)  # by the settling server's worker
    price = book["amount_cents"] // 2
    assert [(o["amount_cents"], o["ticket_ids"]) for o in book["owed"]] == [(price, [first])]
    # paid once, whoever asked and however often: one refund under the row's key
    assert book["refunded_cents"] == price
    assert [r["amount_cents"] for r in book["refunds"]] == [price]
