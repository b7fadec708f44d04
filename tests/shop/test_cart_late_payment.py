"""A cart's payment confirmed after its holds expired: every session's seats still go to
the order when they are free; when one seat of one session is taken meanwhile, nothing is
delivered (no ticket of any session, the stock given back) and the money is refunded."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest

from tests.conftest import SmtpSink, paying_process
from tests.payments.support import choose, order_page, payment_row, tickets_of
from tests.seating.test_outbox import eventually
from tests.shop.helpers import add_article, checkout, new_cart, online_article, put_seats, stock
from tests.support import Api, ServerProcess, SessionInfo, redis_seats, sold_in_postgres

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


async def released(*sessions: int) -> None:
    async def check() -> bool:
        return all([not await redis_seats(s) for s in sessions])

    await eventually(check, within=10)


async def pending_cart(
    admin: Api, shopper: Api
) -> tuple[dict[str, Any], list[SessionInfo], dict[str, Any]]:
    first = await admin.create_session(n_seats=10)
    second = await admin.create_session(n_seats=10)
    programme = await online_article(admin, stock=4)
    cart = await new_cart(shopper, hold_seconds=3)
    await put_seats(shopper, cart, first, first.seat_ids[:2], hold_seconds=3)
    await put_seats(shopper, cart, second, second.seat_ids[:1], hold_seconds=3)
    await add_article(shopper, cart, programme["id"], 3)
    r = await checkout(shopper, cart)
    assert r.status_code == 201, r.text
    assert await stock(programme["id"]) == 1
    await released(first.id, second.id)
    return r.json(), [first, second], programme


async def test_a_late_payment_of_a_cart_gets_every_session_when_free(
    admin: Api, shopper: Api
) -> None:
    order, (first, second), programme = await pending_cart(admin, shopper)
    await choose(shopper, order, "success")
    view = await order_page(shopper, order)
    assert view["status"] == "confirmed" and len(view["tickets"]) == 3
    assert await sold_in_postgres(first.id) == {0, 1}
    assert await sold_in_postgres(second.id) == {0}
    assert (await redis_seats(second.id))[0] == "s"
    assert await stock(programme["id"]) == 1


async def test_a_late_payment_of_a_cart_with_one_seat_gone_is_refunded_whole(
    admin: Api, shopper: Api, buyer: Api
) -> None:
    order, (first, second), programme = await pending_cart(admin, shopper)
    other = await buyer.hold(second.id, second.seat_ids[:1])  # someone else's now
    assert other.status_code == 200, other.text
    await choose(shopper, order, "success")
    view = await order_page(shopper, order)
    assert view["status"] == "refunded" and view["tickets"] == []
    assert await tickets_of(order["id"]) == []
    assert await sold_in_postgres(first.id) == set()
    assert not await redis_seats(first.id)  # the first session's seats were let go
    assert await stock(programme["id"]) == 4  # the units given back
    row = await payment_row(order["id"])
    assert row["status"] == "refunded" and row["provider_status"] == "refunded"
    second_seats = await redis_seats(second.id)
    assert second_seats[0].startswith("h")  # still the other buyer's hold, never sold
