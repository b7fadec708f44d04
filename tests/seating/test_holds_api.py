"""Holds and orders through the HTTP API, against a real server, Redis and Postgres."""

from __future__ import annotations

import asyncio

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from tests.support import Api, redis_seats, sold_in_postgres


async def test_hold_then_conflicting_hold_names_the_taken_seats(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=40)
    first = await buyer.hold(s.id, s.seat_ids[:3])
    assert first.status_code == 200, first.text
    second = await buyer.hold(s.id, s.seat_ids[2:5])
    assert second.status_code == 409
    error = second.json()["error"]
    assert error["code"] == "seats_taken"
    assert error["seats"] == [s.seat_ids[2]]
    # all or nothing: the free seats of the refused request were not held
    states = await redis_seats(s.id)
    assert 3 not in states and 4 not in states


async def test_adding_seats_to_a_hold_keeps_its_clock(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    first = (await buyer.hold(s.id, s.seat_ids[:1])).json()
    await asyncio.sleep(0.05)
    more = (await buyer.hold(s.id, s.seat_ids[1:2], token=first["token"])).json()
    assert more["expires_at_ms"] == first["expires_at_ms"]
    info = (await buyer.http.get(f"/api/sessions/{s.id}/holds/{first['token']}")).json()
    assert info["seats"] == s.seat_ids[:2]


async def test_release_some_then_all(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:3])).json()["token"]
    r = await buyer.http.post(
        f"/api/sessions/{s.id}/holds/{token}/release", json={"seats": [s.seat_ids[0]]}
    )
    assert r.status_code == 200
    assert set(await redis_seats(s.id)) == {1, 2}
    r = await buyer.http.delete(f"/api/sessions/{s.id}/holds/{token}")
    assert r.status_code == 200
    assert await redis_seats(s.id) == {}
    gone = await buyer.http.get(f"/api/sessions/{s.id}/holds/{token}")
    assert gone.status_code == 404 and gone.json()["error"]["code"] == "unknown_hold"


async def test_extend_never_passes_the_cap(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    hold = (await buyer.hold(s.id, s.seat_ids[:1], hold_seconds=2)).json()
    r = await buyer.http.post(f"/api/sessions/{s.id}/holds/{hold['token']}/extend")
    body = r.json()
    assert r.status_code == 200
    assert hold["expires_at_ms"] < body["expires_at_ms"] <= body["cap_at_ms"]


async def test_expired_hold_frees_its_seats(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:2], hold_seconds=1)).json()["token"]
    for _ in range(60):
        if not await redis_seats(s.id):
            break
        await asyncio.sleep(0.1)
    assert await redis_seats(s.id) == {}
    r = await buyer.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0])
    assert r.status_code in (404, 410)
    assert await sold_in_postgres(s.id) == set()


async def test_buy_creates_one_ticket_per_seat_and_marks_them_sold(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:2])).json()["token"]
    r = await buyer.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[1])
    assert r.status_code == 201, r.text
    order = r.json()
    assert [t["seat_id"] for t in order["tickets"]] == s.seat_ids[:2]
    assert order["total_cents"] == 2000
    assert await sold_in_postgres(s.id) == {0, 1}
    assert await redis_seats(s.id) == {0: "s", 1: "s"}
    fill = (await buyer.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert (fill["sold"], fill["held"], fill["free"]) == (2, 0, 98)


async def test_retried_order_with_same_key_sells_once(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    results = await asyncio.gather(
        *[
            buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0], key="retry-key-0001")
            for _ in range(5)
        ]
    )
    assert sorted(r.status_code for r in results) == [200, 200, 200, 200, 201]
    assert len({r.json()["id"] for r in results}) == 1
    assert await sold_in_postgres(s.id) == {0}


async def test_a_key_reused_for_a_different_order_is_refused_as_a_mismatch(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:2])).json()["token"]
    first = await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0], key="mismatch-key-01")
    assert first.status_code == 201
    other_tariff = await buyer.buy(
        s.id, token, s.seat_ids[:1], s.tariff_ids[1], key="mismatch-key-01"
    )
    other_seats = await buyer.buy(
        s.id, token, s.seat_ids[:2], s.tariff_ids[0], key="mismatch-key-01"
    )
    for r in (other_tariff, other_seats):
        assert r.status_code == 422, r.text
        assert r.json()["error"]["code"] == "idempotency_key_mismatch"
        assert r.json()["error"]["order_id"] == first.json()["id"]
    same = await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0], key="mismatch-key-01")
    assert same.status_code == 200 and same.json()["id"] == first.json()["id"]
    assert await sold_in_postgres(s.id) == {0}


async def test_a_hold_token_the_client_names_must_be_a_live_hold(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    r = await buyer.hold(s.id, s.seat_ids[:1], token="my-own-token-0123456789")
    assert r.status_code == 404 and r.json()["error"]["code"] == "unknown_hold"
    assert await redis_seats(s.id) == {}
    fresh = (await buyer.hold(s.id, s.seat_ids[:1])).json()
    assert fresh["token"] != "my-own-token-0123456789"


async def test_a_hold_from_before_a_new_plan_is_gone_and_holds_nothing(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    token = (await buyer.hold(s.id, s.seat_ids[:2])).json()["token"]
    # a new plan for the room: the session moves onto it, its seat map is rebuilt
    plan = plan_to_document(grid(12, 10))
    r = await admin.http.put(f"/api/rooms/{s.detail['room_id']}/seat-plan", json=plan)
    assert r.status_code == 201 and s.id in r.json()["moved_sessions"]
    more = await buyer.hold(s.id, [s.seat_ids[5]], token=token)
    assert more.status_code == 404 and more.json()["error"]["code"] == "unknown_hold"
    assert not any(v.startswith("h") for v in (await redis_seats(s.id)).values())
    bought = await buyer.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0])
    assert bought.status_code == 404


async def test_cannot_buy_seats_held_by_someone_else(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    mine = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    await buyer.hold(s.id, s.seat_ids[1:2])
    r = await buyer.buy(s.id, mine, s.seat_ids[:2], s.tariff_ids[0])
    assert r.status_code == 409
    assert r.json()["error"] == {
        "code": "seats_not_held",
        "message": "some seats are not held by this hold token",
        "seats": [s.seat_ids[1]],
    }
    assert await sold_in_postgres(s.id) == set()


async def test_general_admission_holds_count_against_capacity(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(seated=False, capacity=5)
    a = await buyer.hold(s.id, quantity=3)
    assert a.status_code == 200
    b = await buyer.hold(s.id, quantity=3)
    assert b.status_code == 409
    assert b.json()["error"] == {
        "code": "not_enough_places",
        "message": "not enough places left",
        "available": 2,
    }
    r = await buyer.buy(s.id, a.json()["token"], [], s.tariff_ids[0], quantity=3)
    assert r.status_code == 201, r.text
    assert len(r.json()["tickets"]) == 3
    fill = (await buyer.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert (fill["capacity"], fill["sold"], fill["held"], fill["free"]) == (5, 3, 0, 2)


async def test_blocked_seats_cannot_be_held(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(blocked=["floor-A-1"])
    r = await buyer.hold(s.id, ["floor-A-1"])
    assert r.status_code == 409 and r.json()["error"]["seats"] == ["floor-A-1"]
    fill = (await buyer.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert fill["capacity"] == 99


async def test_closed_sales_refuse_holds(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(sales_open=False)
    r = await buyer.hold(s.id, s.seat_ids[:1])
    assert r.status_code == 409 and r.json()["error"]["code"] == "sales_closed"


async def test_bad_input_gets_a_clear_error_and_changes_nothing(admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    cases = [
        (
            await buyer.http.post(f"/api/sessions/{s.id}/holds", content=b"{nope"),
            400,
            "invalid_json",
        ),
        (await buyer.hold(s.id, ["no-such-seat"]), 400, "unknown_seats"),
        (await buyer.hold(s.id, []), 400, "empty_hold"),
        (
            await buyer.http.post(f"/api/sessions/{s.id}/holds", json={"seats": "A-1"}),
            400,
            "invalid_field",
        ),
        (await buyer.hold(999_999, s.seat_ids[:1]), 404, "not_found"),
        (
            await buyer.http.post(
                f"/api/sessions/{s.id}/orders", json={"hold_token": "x" * 22, "items": []}
            ),
            400,
            "idempotency_key_required",
        ),
    ]
    for response, status, code in cases:
        assert response.status_code == status, response.text
        assert response.json()["error"]["code"] == code
    assert await redis_seats(s.id) == {}


async def test_writes_need_the_admin_role(server, buyer: Api) -> None:
    r = await buyer.http.post("/api/venues", json={"name": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "authentication_required"
    forged = Api(server.url, "eyJ1aWQiOjF9.AAAA")
    r = await forged.http.post("/api/venues", json={"name": "x"})
    await forged.close()
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"
