"""Catalogue through the HTTP API: seat plans, sessions, roles."""

from __future__ import annotations

from typing import Any

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from tests.support import Api, WsClient, redis_seats, sold_in_postgres


async def _room(admin: Api) -> int:
    venue = (await admin.http.post("/api/venues", json={"name": "V"})).json()
    room = (await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "R"})).json()
    return int(room["id"])


async def test_plan_import_then_export_gives_the_same_document(admin: Api) -> None:
    room = await _room(admin)
    document = plan_to_document(grid(30, 10))
    r = await admin.http.put(f"/api/rooms/{room}/seat-plan", json=document)
    assert r.status_code == 201 and r.json()["seat_count"] == 30
    exported = (await admin.http.get(f"/api/seat-plans/{r.json()['id']}")).json()
    assert exported == document


async def test_invalid_plan_is_refused_with_code_and_path(admin: Api) -> None:
    room = await _room(admin)
    document = plan_to_document(grid(4, 2))
    document["zones"][0]["rows"][1]["seats"][0]["id"] = document["zones"][0]["rows"][0]["seats"][0][
        "id"
    ]
    r = await admin.http.put(f"/api/rooms/{room}/seat-plan", json=document)
    assert r.status_code == 400
    error = r.json()["error"]
    assert error["code"] == "duplicate_seat_id"
    assert error["path"].startswith("$.zones[0].rows[1]")


async def test_plan_change_dropping_a_sold_seat_is_refused(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    room = s.detail["room_id"]
    token = (await buyer.hold(s.id, [s.seat_ids[5]])).json()["token"]
    assert (await buyer.buy(s.id, token, [s.seat_ids[5]], s.tariff_ids[0])).status_code == 201
    smaller = grid(20, 10)
    document = plan_to_document(smaller)
    document["zones"][0]["rows"][0]["seats"].pop(5)
    r = await admin.http.put(f"/api/rooms/{room}/seat-plan", json=document)
    assert r.status_code == 409
    assert r.json()["error"] == {
        "code": "plan_drops_sold_seats",
        "message": "the new plan removes seats that are sold",
        "seats": [s.seat_ids[5]],
    }


async def test_plan_change_moves_sold_seats_by_id_and_resyncs_viewers(
    admin: Api, buyer: Api, server
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    sold_id = s.seat_ids[12]
    token = (await buyer.hold(s.id, [sold_id])).json()["token"]
    assert (await buyer.buy(s.id, token, [sold_id], s.tariff_ids[0])).status_code == 201
    viewer = await WsClient.connect(server.ws_url)
    await viewer.send({"type": "subscribe", "channel": f"seats:{s.id}"})
    first = await viewer.recv()
    # the new plan drops the first, unsold, seat: every other seat moves one index down
    document = plan_to_document(grid(20, 10))
    document["zones"][0]["rows"][0]["seats"].pop(0)
    r = await admin.http.put(f"/api/rooms/{s.detail['room_id']}/seat-plan", json=document)
    assert r.status_code == 201 and r.json()["moved_sessions"] == [s.id]
    snap = await viewer.until(lambda m: m["type"] == "snapshot" and m["epoch"] != first["epoch"])
    await viewer.close()
    seat_map = (await buyer.http.get(f"/api/sessions/{s.id}/seat-map")).json()
    new_index = [seat[0] for seat in seat_map["seats"]].index(sold_id)
    assert new_index == 11
    assert snap["seat_count"] == 19 and snap["states"][new_index] == "2"
    assert await sold_in_postgres(s.id) == {11}
    assert await redis_seats(s.id) == {11: "s"}


async def test_general_admission_capacity_is_the_sum_of_its_contingents(admin: Api) -> None:
    venue = (await admin.http.post("/api/venues", json={"name": "V"})).json()
    room = (await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "R"})).json()
    r = await admin.http.post(
        "/api/sessions",
        json={
            "room_id": room["id"],
            "event_name": "Concert",
            "seated": False,
            "starts_at": "2030-01-01T20:00:00+00:00",
            "ends_at": "2030-01-01T23:00:00+00:00",
            "contingents": [{"name": "Public", "capacity": 70}, {"name": "Guests", "capacity": 30}],
            "tariffs": [{"name": "Entry", "price_cents": 2000}],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["capacity"] == 100
    assert [c["name"] for c in r.json()["contingents"]] == ["Public", "Guests"]


async def test_session_with_end_before_start_is_refused(admin: Api) -> None:
    room = await _room(admin)
    r = await admin.http.post(
        "/api/sessions",
        json={
            "room_id": room,
            "event_name": "x",
            "seated": False,
            "capacity": 10,
            "starts_at": "2030-01-01T20:00:00+00:00",
            "ends_at": "2030-01-01T19:00:00+00:00",
        },
    )
    assert r.status_code == 400 and r.json()["error"]["field"] == "ends_at"


async def test_blocking_a_sold_seat_is_refused_and_blocking_a_free_one_pushes(
    admin: Api, buyer: Api, server
) -> None:
    s = await admin.create_session()
    token = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0])
    r = await admin.http.post(
        f"/api/sessions/{s.id}/blocked-seats", json={"seats": s.seat_ids[:2], "blocked": True}
    )
    assert r.status_code == 409 and r.json()["error"]["seats"] == [s.seat_ids[0]]
    viewer = await WsClient.connect(server.ws_url)
    await viewer.send({"type": "subscribe", "channel": f"seats:{s.id}"})
    await viewer.recv()
    r = await admin.http.post(
        f"/api/sessions/{s.id}/blocked-seats", json={"seats": s.seat_ids[1:3], "blocked": True}
    )
    assert r.status_code == 200
    await viewer.until(lambda m: m["type"] == "delta" and [1, 3] in m["changes"])
    await viewer.close()
    assert (await buyer.hold(s.id, s.seat_ids[1:2])).status_code == 409


async def test_a_cashier_cannot_change_the_catalogue(admin: Api, server) -> None:
    r = await admin.http.post(
        "/api/users", json={"username": "cashier", "password": "long-password", "roles": ["pos"]}
    )
    assert r.status_code == 201
    login = await admin.http.post(
        "/api/auth/login", json={"username": "cashier", "password": "long-password"}
    )
    cashier = Api(server.url, login.json()["token"])
    try:
        r = await cashier.http.post("/api/venues", json={"name": "x"})
        assert r.status_code == 403 and r.json()["error"]["code"] == "forbidden"
        me = (await cashier.http.get("/api/auth/me")).json()
        assert me["roles"] == ["pos"]
    finally:
        await cashier.close()
    wrong = await admin.http.post("/api/auth/login", json={"username": "cashier", "password": "x"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "bad_credentials"


async def test_sessions_list_shows_upcoming_sessions_with_their_room(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session()
    offset: int | None = 0
    sessions: list[dict[str, Any]] = []
    while offset is not None:  # the suite's other sessions may start at the same time
        body = (await buyer.http.get("/api/sessions", params={"offset": offset})).json()
        sessions += body["sessions"]
        offset = body["next_offset"]
    mine = next(x for x in sessions if x["id"] == s.id)
    assert mine["room_name"] == "Room" and mine["venue_name"] == "Test venue"


async def test_lists_come_in_pages(admin: Api) -> None:
    for _ in range(3):
        await admin.create_session(seated=False, capacity=5)
    seen: list[int] = []
    offset: int | None = 0
    while offset is not None:
        r = await admin.http.get("/api/sessions", params={"all": "1", "limit": 2, "offset": offset})
        assert r.status_code == 200
        body = r.json()
        assert len(body["sessions"]) <= 2
        seen += [s["id"] for s in body["sessions"]]
        offset = body["next_offset"]
    everything = (await admin.http.get("/api/sessions", params={"all": "1", "limit": 500})).json()
    assert seen == [s["id"] for s in everything["sessions"]] and len(seen) >= 3
    for bad in ({"limit": 0}, {"limit": 501}, {"offset": -1}, {"limit": "ten"}):
        r = await admin.http.get("/api/venues", params=bad)
        assert r.status_code == 400 and r.json()["error"]["field"] in {"limit", "offset"}


async def test_sessions_list_takes_a_window_of_start_times(admin: Api, buyer: Api) -> None:
    january = await admin.create_session(seated=False, capacity=5)
    february = await admin.create_session(seated=False, capacity=5)
    times = {"starts_at": "2030-02-10T20:00:00+01:00", "ends_at": "2030-02-10T22:00:00+01:00"}
    r = await admin.http.patch(f"/api/sessions/{february.id}", json=times)
    assert r.status_code == 200, r.text
    day = {"from": "2030-02-10T00:00:00+01:00", "to": "2030-02-11T00:00:00+01:00"}
    found = (await buyer.http.get("/api/sessions", params=day)).json()["sessions"]
    ids = [s["id"] for s in found]
    assert february.id in ids and january.id not in ids
    assert all("2030-02-10" <= s["starts_at"] < "2030-02-11" for s in found)
    # the window is half open: a session starting at `to` belongs to the next day
    before = {"from": "2030-02-09T00:00:00+01:00", "to": "2030-02-10T20:00:00+01:00"}
    found = (await buyer.http.get("/api/sessions", params=before)).json()["sessions"]
    assert february.id not in [s["id"] for s in found]
    for bad in (
        {"from": "2030-02-10T00:00:00+01:00"},
        {"to": "2030-02-10T00:00:00+01:00"},
        {"from": "2030-02-10T00:00:00+01:00", "to": "2030-02-09T00:00:00+01:00"},
        {"from": "2030-01-01T00:00:00+00:00", "to": "2030-06-01T00:00:00+00:00"},
        {"from": "2030-02-10T00:00:00", "to": "2030-02-11T00:00:00"},
        {"from": "tomorrow", "to": "2030-02-11T00:00:00+01:00"},
    ):
        r = await buyer.http.get("/api/sessions", params=bad)
        assert r.status_code == 400, bad
        assert r.json()["error"]["field"] in {"from", "to"}
