"""Overbooking at the cash desk (``sell.overbook``): a blocked seat or places past a full
session's capacity, sold without a hold, journalled and audited; the live gauge, the
mirror's rebuild and refunds agree with Postgres."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests import support
from tests.cash.helpers import cashier, db, new_register, open_session
from tests.support import Api, ServerProcess


async def fill(api: Api, session_id: int) -> dict[str, int]:
    r = await api.http.get(f"/api/sessions/{session_id}/fill")
    assert r.status_code == 200, r.text
    return {k: r.json()[k] for k in ("capacity", "sold", "held", "free")}


async def rebuilt_fill(api: Api, session_id: int) -> dict[str, int]:
    """The gauge once the live mirror is dropped and rebuilt from Postgres."""
    client = support.redis_connect()
    try:
        await client.delete(f"gq:{{s:{session_id}}}:meta")
    finally:
        await client.aclose()
    return await fill(api, session_id)


def overbooking(
    register_session_id: int, items: list[dict[str, Any]], amount: int
) -> dict[str, Any]:
    return {
        "overbook": True,
        "idempotency_key": uuid.uuid4().hex,
        "items": items,
        "register_session_id": register_session_id,
        "payments": [{"method": "cash", "amount_cents": amount}],
    }


async def audit_actions(admin: Api, order_id: int) -> list[str]:
    r = await admin.http.get("/api/audit", params={"subject": f"order:{order_id}"})
    assert r.status_code == 200, r.text
    return [e["action"] for e in r.json()["items"]]


async def test_a_blocked_seat_is_overbooked_then_refunded(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10, blocked=["floor-A-1", "floor-A-2"])
    register_id = await new_register(admin)
    desk = await cashier(admin, server, "pos", "overbooker", "refund")
    try:
        rs = await open_session(desk, register_id)
        before = await fill(desk, s.id)
        assert before["capacity"] == 18
        body = overbooking(rs, [{"seat": "floor-A-1", "tariff_id": s.tariff_ids[0]}], 1500)
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=body)
        assert r.status_code == 201, r.text
        order = r.json()
        assert order["receipt"]["receipt_no"] == 2
        idx = s.seat_ids.index("floor-A-1")
        assert (await support.redis_seats(s.id))[idx] == "s"
        after = await fill(desk, s.id)
        assert (after["capacity"], after["sold"], after["free"]) == (19, 1, 18)
        assert await rebuilt_fill(desk, s.id) == after
        assert "order.overbook" in await audit_actions(admin, order["id"])

        again = await desk.http.post(
            f"/api/sessions/{s.id}/orders", json={**body, "idempotency_key": uuid.uuid4().hex}
        )
        assert again.status_code == 409 and again.json()["error"]["code"] == "seats_taken"

        refund = await desk.http.post(
            f"/api/journal/{order['receipt']['journal_id']}/refund",
            json={"register_session_id": rs},
        )
        assert refund.status_code == 201, refund.text
        assert (await support.redis_seats(s.id))[idx] == "b"  # blocked again, not free
        assert await fill(desk, s.id) == before
        assert await rebuilt_fill(desk, s.id) == before
    finally:
        await desk.close()


async def test_only_blocked_seats_and_only_overbookers(server: ServerProcess, admin: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10, blocked=["floor-A-1"])
    register_id = await new_register(admin)
    plain = await cashier(admin, server, "pos")
    desk = await cashier(admin, server, "pos", "overbooker")
    try:
        rs = await open_session(desk, register_id)
        items = [{"seat": "floor-A-1", "tariff_id": s.tariff_ids[0]}]
        r = await plain.http.post(f"/api/sessions/{s.id}/orders", json=overbooking(rs, items, 1500))
        assert r.status_code == 403, r.text
        items = [
            {"seat": "floor-A-1", "tariff_id": s.tariff_ids[0]},
            {"seat": "floor-A-3", "tariff_id": s.tariff_ids[0]},
        ]
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=overbooking(rs, items, 3000))
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "seats_not_blocked"
        assert r.json()["error"]["seats"] == ["floor-A-3"]
        no_register = overbooking(rs, items[:1], 1500)
        del no_register["register_session_id"], no_register["payments"]
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=no_register)
        assert r.status_code == 400 and r.json()["error"]["code"] == "overbook_at_register"
        assert await support.sold_in_postgres(s.id) == set()  # nothing changed
        assert (await fill(desk, s.id))["sold"] == 0
    finally:
        await plain.close()
        await desk.close()


async def test_places_past_a_full_capacity_keep_every_hold(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=3)
    register_id = await new_register(admin)
    desk = await cashier(admin, server, "pos", "overbooker")
    shop = Api(server.url)
    try:
        rs = await open_session(desk, register_id)
        places = [{"tariff_id": s.tariff_ids[1], "quantity": 2}]
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=overbooking(rs, places, 2000))
        assert r.status_code == 409 and r.json()["error"]["code"] == "room_left"

        held = await shop.hold(s.id, quantity=3)  # a buyer holds the last places
        assert held.status_code == 200, held.text
        assert (await shop.hold(s.id, quantity=1)).json()["error"]["code"] == "not_enough_places"
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=overbooking(rs, places, 2000))
        assert r.status_code == 201, r.text
        assert len(r.json()["tickets"]) == 2
        gauge = await fill(desk, s.id)
        assert (gauge["capacity"], gauge["sold"], gauge["held"], gauge["free"]) == (3, 2, 3, 0)

        # the buyer's hold was a promise: it still buys its three places
        bought = await shop.buy(s.id, held.json()["token"], [], s.tariff_ids[0], quantity=3)
        assert bought.status_code == 201, bought.text
        assert (await shop.hold(s.id, quantity=1)).json()["error"]["code"] == "not_enough_places"
        conn = await db()
        try:
            row = await conn.fetchrow(
                "SELECT capacity, sold, overbooked FROM ga_counters WHERE session_id = $1", s.id
            )
        finally:
            await conn.close()
        assert tuple(row) == (3, 5, 2)
        assert (await rebuilt_fill(desk, s.id))["sold"] == 5
    finally:
        await desk.close()
        await shop.close()


async def test_one_blocked_seat_overbooked_by_two_desks_is_sold_once(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10, blocked=["floor-B-5"])
    desks, sessions = [], []
    try:
        for _ in range(2):
            desk = await cashier(admin, server, "pos", "overbooker")
            desks.append(desk)
            sessions.append(await open_session(desk, await new_register(admin)))
        items = [{"seat": "floor-B-5", "tariff_id": s.tariff_ids[0]}]
        replies = await asyncio.gather(
            *(
                d.http.post(f"/api/sessions/{s.id}/orders", json=overbooking(rs, items, 1500))
                for d, rs in zip(desks, sessions, strict=True)
            )
        )
        assert sorted(r.status_code for r in replies) == [201, 409]
        assert await support.sold_in_postgres(s.id) == {s.seat_ids.index("floor-B-5")}
    finally:
        for d in desks:
            await d.close()
