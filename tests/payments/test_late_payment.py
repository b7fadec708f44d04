"""A payment confirmed after its hold expired: the order still gets its seats when they
are free, or the money is given back automatically when they are not. And the crash
window between the commit of a payment and Redis learning of the sale."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.conftest import SmtpSink, paying_env, paying_process
from tests.payments.support import (
    choose,
    order_page,
    payment_ref,
    payment_row,
    pending_order,
    tickets_of,
    webhook,
)
from tests.seating.test_outbox import eventually
from tests.support import Api, ServerProcess, redis_seats, sold_in_postgres

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def short_window(server: ServerProcess, smtp_sink: SmtpSink) -> Iterator[ServerProcess]:
    """Seats stay held one second while their buyer pays."""
    with paying_process(smtp_sink, GUICHET_PAYMENT_WINDOW="1") as proc:
        yield proc


@pytest.fixture
async def shopper(short_window: ServerProcess) -> AsyncIterator[Api]:
    async with Api(short_window.url) as api:
        yield api


async def expired(seat: int, session_id: int) -> None:
    async def released() -> bool:
        return seat not in await redis_seats(session_id)

    await eventually(released, within=10)


async def test_a_late_payment_gets_its_seats_when_they_are_still_free(
    admin: Api, shopper: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:1], hold_seconds=1)
    await expired(0, s.id)
    await choose(shopper, order, "success")  # the provider's webhook comes late
    view = await order_page(shopper, order)
    assert view["status"] == "confirmed" and len(view["tickets"]) == 1
    assert await sold_in_postgres(s.id) == {0}
    assert (await redis_seats(s.id))[0] == "s"


async def test_a_late_payment_whose_seats_are_taken_is_refunded(
    admin: Api, shopper: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:2], hold_seconds=1)
    await expired(0, s.id)
    other = await buyer.hold(s.id, s.seat_ids[1:2])  # someone else holds one of them
    assert other.status_code == 200
    await choose(shopper, order, "success")
    view = await order_page(shopper, order)
    assert view["status"] == "refunded" and view["tickets"] == []
    assert await tickets_of(order["id"]) == []
    row = await payment_row(order["id"])
    assert row["status"] == "refunded" and row["provider_status"] == "refunded"
    assert row["refund_ref"]
    seats = await redis_seats(s.id)
    assert 0 not in seats  # the late hold let go of the free seat
    assert seats[1] == "h" + other.json()["token"]  # the other buyer keeps theirs
    # a second delivery changes nothing: no second refund, no tickets
    assert (await webhook(shopper, payment_ref(order), "succeeded")).json()["changed"] is False


async def test_a_late_payment_whose_seat_was_sold_is_refunded(
    admin: Api, shopper: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    order = await pending_order(shopper, s, s.seat_ids[:1], hold_seconds=1)
    await expired(0, s.id)
    token = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    sold = await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0])  # an unpaid server
    assert sold.status_code == 201
    await choose(shopper, order, "success")
    assert (await order_page(shopper, order))["status"] == "refunded"
    assert await sold_in_postgres(s.id) == {0}
    assert len(await tickets_of(sold.json()["id"])) == 1


async def test_a_process_dying_after_the_payment_commit_leaves_the_sale_to_the_outbox(
    admin: Api, server: ServerProcess, smtp_sink: SmtpSink
) -> None:
    """The payment's commit wrote the tickets and a ``sell`` entry; the process dies
    before telling Redis; another process's outbox worker marks the seats sold."""
    dying = ServerProcess(paying_env(smtp_sink, GUICHET_FAILPOINTS="payments.after_commit=exit"))
    try:
        dying.wait_ready()
        api = Api(dying.url)
        s = await admin.create_session(n_seats=10)
        order = await pending_order(api, s, s.seat_ids[:1])
        with pytest.raises(httpx.HTTPError):
            await webhook(api, payment_ref(order), "succeeded")
        await asyncio.to_thread(dying.proc.wait, 10)
        await api.close()
    finally:
        dying.stop()
    assert await sold_in_postgres(s.id) == {0}  # committed before the process died

    async def sold_live() -> bool:
        return (await redis_seats(s.id)).get(0) == "s"

    await eventually(sold_live)  # the running server's outbox worker applied it
