"""A process dying between the commit of a cart's payment and Redis learning of the sale:
the tickets of both sessions are committed, and another process's outbox worker marks the
seats of both sessions sold."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from tests.conftest import SmtpSink, paying_env
from tests.payments.support import payment_ref, webhook
from tests.seating.test_outbox import eventually
from tests.shop.helpers import checkout, new_cart, put_seats
from tests.support import Api, ServerProcess, redis_seats, sold_in_postgres

pytestmark = pytest.mark.slow


async def test_a_process_dying_after_a_cart_is_paid_leaves_both_sales_to_the_outbox(
    admin: Api, server: ServerProcess, smtp_sink: SmtpSink
) -> None:
    dying = ServerProcess(paying_env(smtp_sink, GUICHET_FAILPOINTS="payments.after_commit=exit"))
    try:
        dying.wait_ready()
        api = Api(dying.url)
        first = await admin.create_session(n_seats=10)
        second = await admin.create_session(n_seats=10)
        cart = await new_cart(api)
        await put_seats(api, cart, first, first.seat_ids[:1])
        await put_seats(api, cart, second, second.seat_ids[1:3])
        r = await checkout(api, cart)
        assert r.status_code == 201, r.text
        with pytest.raises(httpx.HTTPError):
            await webhook(api, payment_ref(r.json()), "succeeded")
        await asyncio.to_thread(dying.proc.wait, 10)
        await api.close()
    finally:
        dying.stop()
    assert await sold_in_postgres(first.id) == {0}  # committed before the process died
    assert await sold_in_postgres(second.id) == {1, 2}

    async def sold_live() -> bool:
        a, b = await redis_seats(first.id), await redis_seats(second.id)
        return a.get(0) == "s" and b.get(1) == b.get(2) == "s"

    await eventually(sold_live)  # the running server's outbox worker applied both
