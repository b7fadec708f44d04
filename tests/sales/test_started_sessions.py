"""Sessions that have started are no longer sold online unless the organiser allows it: the
shop's holds and orders are refused with 409 ``session_started``, the cash desk sells on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.cash.helpers import cashier, desk_sale, new_register, open_session
from tests.support import Api, ServerProcess


async def start_now(admin: Api, session_id: int, **extra: object) -> dict[str, object]:
    now = datetime.now(UTC)
    body = {
        "starts_at": (now - timedelta(minutes=10)).isoformat(),
        "ends_at": (now + timedelta(hours=2)).isoformat(),
        **extra,
    }
    r = await admin.http.patch(f"/api/sessions/{session_id}", json=body)
    assert r.status_code == 200, r.text
    detail: dict[str, object] = r.json()
    return detail


async def test_a_started_session_is_refused_to_the_shop_and_sold_at_the_desk(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    assert s.detail["sell_online_after_start"] is False
    early = await buyer.hold(s.id, [s.seat_ids[0]])  # held before the start
    assert early.status_code == 200, early.text

    await start_now(admin, s.id)
    r = await buyer.hold(s.id, [s.seat_ids[1]])
    assert r.status_code == 409 and r.json()["error"]["code"] == "session_started", r.text
    best = await buyer.http.post(f"/api/sessions/{s.id}/holds/best", json={"quantity": 1})
    assert best.status_code == 409 and best.json()["error"]["code"] == "session_started"
    order = await buyer.buy(s.id, early.json()["token"], [s.seat_ids[0]], s.tariff_ids[0])
    assert order.status_code == 409, order.text
    assert order.json()["error"]["code"] == "session_started"

    desk = await cashier(admin, server, "pos")
    register_session = await open_session(desk, await new_register(admin))
    sold = await desk_sale(desk, s, register_session, [s.seat_ids[2]])
    assert sold.status_code == 201, sold.text
    await desk.close()


async def test_the_organiser_may_keep_selling_online_after_the_start(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    detail = await start_now(admin, s.id, sell_online_after_start=True)
    assert detail["sell_online_after_start"] is True
    listed = (await buyer.http.get(f"/api/sessions/{s.id}")).json()
    assert listed["sell_online_after_start"] is True
    hold = await buyer.hold(s.id, [s.seat_ids[0]])
    assert hold.status_code == 200, hold.text
    order = await buyer.buy(s.id, hold.json()["token"], [s.seat_ids[0]], s.tariff_ids[0])
    assert order.status_code == 201, order.text

    r = await admin.http.patch(f"/api/sessions/{s.id}", json={"sell_online_after_start": False})
    assert r.status_code == 200 and r.json()["sell_online_after_start"] is False
    refused = await buyer.hold(s.id, [s.seat_ids[1]])
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "session_started"


async def test_a_new_session_may_be_created_sold_online_after_its_start(admin: Api) -> None:
    room = await admin.create_session(n_seats=4, per_row=4)
    body = {
        "room_id": room.detail["room_id"],
        "event_name": "Late comers welcome",
        "starts_at": "2030-01-02T20:00:00+00:00",
        "ends_at": "2030-01-02T22:00:00+00:00",
        "seated": True,
        "sell_online_after_start": True,
    }
    r = await admin.http.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    assert r.json()["sell_online_after_start"] is True
