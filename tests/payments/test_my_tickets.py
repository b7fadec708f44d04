"""My tickets: a buyer asks for a sign-in link, receives it in the real SMTP sink, and the
link lists exactly the orders of that address; the answer never tells who bought; links
are limited per address, expire, can be closed, and cannot be forged."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator

import msgspec
import pytest

from server.payments.schemas import BuyerOrders
from tests.conftest import SmtpSink
from tests.payments.support import choose, db, pending_order
from tests.support import Api, ServerProcess

LINK = re.compile(r"/my-tickets\.html#([0-9]+\.[A-Za-z0-9_-]{32})")


@pytest.fixture
async def shopper(paying_server: ServerProcess) -> AsyncIterator[Api]:
    api = Api(paying_server.url)
    yield api
    await api.close()


def address(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}@example.org"


async def signin_link(shopper: Api, sink: SmtpSink, email: str) -> str:
    before = len(sink.messages)
    r = await shopper.http.post("/api/my-tickets/link", json={"email": email})
    assert r.status_code == 202, r.text
    return await link_in_mail(sink, email.lower(), before)


async def link_in_mail(sink: SmtpSink, recipient: str, after: int = 0, within: float = 15) -> str:
    """The sign-in link of the first sign-in mail to ``recipient`` among the messages
    received after the first ``after`` (the order confirmations it also receives hold
    none)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while True:
        for message in sink.messages[after:]:
            if message["To"] == recipient and "sign-in" in message["Subject"]:
                found = LINK.search(message.get_body(("plain",)).get_content())
                assert found, message
                return found.group(1)
        assert loop.time() < deadline, f"no sign-in mail to {recipient}"
        await asyncio.sleep(0.1)


async def test_the_link_lists_every_order_of_the_address_and_no_other(
    admin: Api, shopper: Api, smtp_sink: SmtpSink
) -> None:
    s = await admin.create_session(n_seats=20)
    ada, bob = address("ada"), address("bob")
    paid = await pending_order(shopper, s, s.seat_ids[:2], ada)
    await choose(shopper, paid, "success")
    waiting = await pending_order(shopper, s, s.seat_ids[2:3], ada.upper())  # same address
    other = await pending_order(shopper, s, s.seat_ids[3:4], bob)

    link = await signin_link(shopper, smtp_sink, ada)
    r = await shopper.http.post("/api/my-tickets/orders", json={"token": link})
    assert r.status_code == 200, r.text
    body = r.json()
    msgspec.json.decode(r.content, type=BuyerOrders)  # the documented shape, closed
    assert body["email"] == ada
    by_id = {o["id"]: o for o in body["orders"]}
    assert set(by_id) == {paid["id"], waiting["id"]}
    assert other["id"] not in by_id
    assert (by_id[paid["id"]]["status"], by_id[paid["id"]]["tickets"]) == ("confirmed", 2)
    assert (by_id[waiting["id"]]["status"], by_id[waiting["id"]]["tickets"]) == ("pending", 1)
    assert by_id[paid["id"]]["session"]["id"] == s.id
    # each order's link opens its private order page
    page = await shopper.http.get(f"/api/orders/by-link/{by_id[paid['id']]['link']}")
    assert page.status_code == 200 and page.json()["id"] == paid["id"]


async def test_the_answer_is_the_same_for_an_address_without_orders(
    shopper: Api, smtp_sink: SmtpSink
) -> None:
    nobody = address("nobody")
    r = await shopper.http.post("/api/my-tickets/link", json={"email": nobody})
    assert r.status_code == 202
    assert r.json() == {"status": "sent_if_known", "valid_minutes": 30}
    await asyncio.sleep(1.5)  # the mail worker would have sent it by now
    assert [m for m in smtp_sink.messages if m["To"] == nobody] == []
    conn = await db()
    try:
        assert await conn.fetchval("SELECT count(*) FROM buyer_links WHERE email = $1", nobody) == 0
    finally:
        await conn.close()


async def test_requests_are_limited_per_address(shopper: Api) -> None:
    first, second = address("busy"), address("calm")
    for _ in range(3):
        r = await shopper.http.post("/api/my-tickets/link", json={"email": first})
        assert r.status_code == 202
    r = await shopper.http.post("/api/my-tickets/link", json={"email": first.upper()})
    assert r.status_code == 429
    assert r.json()["error"]["code"] == "too_many_requests"
    assert 0 < int(r.headers["retry-after"]) <= 900
    r = await shopper.http.post("/api/my-tickets/link", json={"email": second})
    assert r.status_code == 202  # another address is not held back


async def test_a_link_can_be_closed_expires_and_cannot_be_forged(
    admin: Api, shopper: Api, smtp_sink: SmtpSink
) -> None:
    s = await admin.create_session(n_seats=5)
    email = address("eve")
    await pending_order(shopper, s, s.seat_ids[:1], email)

    async def orders(token: str) -> tuple[int, str | None]:
        r = await shopper.http.post("/api/my-tickets/orders", json={"token": token})
        return r.status_code, r.json().get("error", {}).get("code")

    link = await signin_link(shopper, smtp_sink, email)
    ident, mac = link.split(".")
    forged = f"{ident}.{'A' * 32}" if mac != "A" * 32 else f"{ident}.{'B' * 32}"
    assert await orders(forged) == (404, "unknown_link")
    assert await orders(f"{int(ident) + 1000}.{mac}") == (404, "unknown_link")
    assert await orders("not-a-link") == (400, "invalid_field")
    assert (await orders(link))[0] == 200

    r = await shopper.http.post("/api/my-tickets/sign-out", json={"token": link})
    assert r.status_code == 200 and r.json() == {"revoked": True}
    assert await orders(link) == (410, "link_revoked")

    second = await signin_link(shopper, smtp_sink, email)
    assert (await orders(second))[0] == 200
    conn = await db()
    try:
        await conn.execute(
            "UPDATE buyer_links SET created_at = now() - interval '2 hours',"
            " expires_at = now() - interval '1 hour' WHERE id = $1",
            int(second.split(".")[0]),
        )
    finally:
        await conn.close()
    assert await orders(second) == (410, "link_expired")


async def test_bad_addresses_are_refused(shopper: Api) -> None:
    for bad in ("", "no-at-sign", "a@b@c", "x" * 300 + "@example.org"):
        r = await shopper.http.post("/api/my-tickets/link", json={"email": bad})
        assert r.status_code == 400, (bad, r.text)
