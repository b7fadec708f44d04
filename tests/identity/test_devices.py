"""Scanner device enrolment: an admin creates a device, its one-time code becomes a token
that may scan and nothing else."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from tests.door.test_door_api import buy_tickets, code_of, db_fetch, door_session, nonce
from tests.support import Api, ServerProcess


def device_name() -> str:
    return f"tablet-{uuid.uuid4().hex[:8]}"


async def create_device(admin: Api, **body: Any) -> dict[str, Any]:
    r = await admin.http.post("/api/devices", json={"name": device_name(), **body})
    assert r.status_code == 201, r.text
    result: dict[str, Any] = r.json()
    return result


async def enrol(api: Api, code: str) -> Any:
    return await api.http.post("/api/devices/enrol", json={"code": code})


async def test_only_an_admin_creates_devices(admin: Api, buyer: Api, server: ServerProcess) -> None:
    r = await admin.http.post(
        "/api/users",
        json={
            "username": f"door-{uuid.uuid4().hex[:6]}",
            "password": "door-pass-1",
            "roles": ["entry_check"],
        },
    )
    login = await buyer.http.post(
        "/api/auth/login", json={"username": r.json()["username"], "password": "door-pass-1"}
    )
    steward = Api(server.url, login.json()["token"])
    try:
        assert (await buyer.http.post("/api/devices", json={"name": "x1"})).status_code == 401
        assert (await steward.http.post("/api/devices", json={"name": "x1"})).status_code == 403
        device = await create_device(admin)
        svg = f"/api/devices/{device['device']['id']}/enrolment.svg"
        assert (await steward.http.get(svg)).status_code == 403
        assert (await steward.http.get("/api/devices")).status_code == 403
    finally:
        await steward.close()


async def test_create_returns_a_one_time_code_and_its_qr(admin: Api) -> None:
    created = await create_device(admin, language="fr", mode="exit")
    code, device = created["enrolment_code"], created["device"]
    assert created["config_url"].endswith(f"/scanner.html#enrol={code}")
    assert (device["language"], device["mode"]) == ("fr", "exit")
    r = await admin.http.get(created["qr_url"])
    assert r.status_code == 200 and r.headers["content-type"].startswith("image/svg+xml")
    assert r.text.startswith("<svg")
    listed = (await admin.http.get("/api/devices")).json()["devices"]
    assert device["id"] in [d["id"] for d in listed]


async def test_bad_device_requests(admin: Api) -> None:
    name = device_name()
    assert (await admin.http.post("/api/devices", json={"name": name})).status_code == 201
    again = await admin.http.post("/api/devices", json={"name": name})
    assert again.status_code == 409 and again.json()["error"]["code"] == "device_exists"
    for body in (
        {"name": "has space"},
        {"name": device_name(), "mode": "sideways"},
        {"name": device_name(), "language": "xx"},
        {"name": device_name(), "room_id": 999_999},
    ):
        r = await admin.http.post("/api/devices", json=body)
        assert r.status_code == 400, (body, r.text)


async def test_an_enrolment_code_works_once(admin: Api, buyer: Api) -> None:
    created = await create_device(admin)
    first = await enrol(buyer, created["enrolment_code"])
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["device"]["name"] == created["device"]["name"]
    assert body["config"] == {"room_id": None, "language": "en", "mode": "entry"}
    second = await enrol(buyer, created["enrolment_code"])
    assert second.status_code == 409 and second.json()["error"]["code"] == "code_used"
    assert (await admin.http.get(created["qr_url"])).status_code == 404  # nothing pending
    assert (await enrol(buyer, "not-a-real-code")).status_code == 404


async def test_an_enrolment_code_expires_and_can_be_renewed(admin: Api, buyer: Api) -> None:
    created = await create_device(admin)
    device_id = created["device"]["id"]
    await db_fetch(
        "UPDATE devices SET enrolment_expires_at = now() - interval '1 second' WHERE id = $1",
        device_id,
    )
    late = await enrol(buyer, created["enrolment_code"])
    assert late.status_code == 410 and late.json()["error"]["code"] == "code_expired"
    renewed = (await admin.http.post(f"/api/devices/{device_id}/enrolment")).json()
    assert renewed["enrolment_code"] != created["enrolment_code"]
    assert (await enrol(buyer, created["enrolment_code"])).status_code == 404  # replaced
    assert (await enrol(buyer, renewed["enrolment_code"])).status_code == 200


async def test_the_device_token_scans_and_does_nothing_else(
    admin: Api, buyer: Api, server: ServerProcess
) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    created = await create_device(admin, room_id=session["room_id"])
    token = (await enrol(buyer, created["enrolment_code"])).json()["token"]
    device = Api(server.url, token)
    try:
        me = (await device.http.get("/api/auth/me")).json()
        assert me["username"] == f"device:{created['device']['name']}"
        assert me["roles"] == ["entry_check"]
        r = await device.http.post(
            "/api/scan",
            json={"code": code, "nonce": nonce(), "door": "north", "session_id": session["id"]},
        )
        assert r.status_code == 200 and r.json()["result"] == "valid", r.text
        keys = await device.http.get("/api/door/keys", params={"session_id": session["id"]})
        assert keys.status_code == 200
        for method, path, body in (
            ("POST", "/api/devices", {"name": device_name()}),
            ("POST", "/api/users", {"username": "x", "password": "12345678", "roles": []}),
            ("POST", f"/api/tickets/{ticket}/refund", None),
            ("GET", "/api/door/conflicts", None),
        ):
            r = await device.http.request(method, path, json=body)
            assert r.status_code == 403, (path, r.text)
        # public routes answer a device too (its id names no user: nothing to record)
        seat = session["free_seats"][0]
        hold = (await device.hold(session["id"], [seat])).json()
        bought = await device.buy(session["id"], hold["token"], [seat], session["tariffs"][0]["id"])
        assert bought.status_code == 201, bought.text
    finally:
        await device.close()
    rows = await db_fetch("SELECT device FROM scans WHERE ticket_id = $1", ticket)
    assert [r["device"] for r in rows] == [f"device:{created['device']['name']}/default"]


async def test_the_device_list_says_when_each_was_last_seen_and_which_are_revoked(
    admin: Api, buyer: Api, server: ServerProcess
) -> None:
    seen, idle = await create_device(admin), await create_device(admin)
    token = (await enrol(buyer, seen["enrolment_code"])).json()["token"]
    device = Api(server.url, token)
    try:
        assert (await device.http.get("/api/auth/me")).status_code == 200
    finally:
        await device.close()
    await admin.http.post(f"/api/devices/{idle['device']['id']}/revoke")
    listed: dict[int, Any] = {}
    for _ in range(50):  # written off the request's path: a moment later
        page = (await admin.http.get("/api/devices", params={"limit": 500})).json()
        listed = {d["id"]: d for d in page["devices"]}
        if listed[seen["device"]["id"]]["last_seen_at"] is not None:
            break
        await asyncio.sleep(0.05)
    assert listed[seen["device"]["id"]]["last_seen_at"] is not None
    assert listed[seen["device"]["id"]]["revoked"] is False
    assert listed[idle["device"]["id"]]["last_seen_at"] is None
    assert listed[idle["device"]["id"]]["revoked"] is True
