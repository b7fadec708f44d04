"""Every input is bounded at the edge: a body too large, a number out of its column's
range, a JSON constant that is not JSON or a quantity without limit get a clear 4xx and
change nothing (never a 500 or a dropped connection)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.support import Api

MiB = 1024 * 1024


async def chunks(total: int) -> AsyncIterator[bytes]:
    sent = 0
    while sent < total:
        yield b" " * 65536
        sent += 65536


async def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(admin: Api) -> None:
    declared = await admin.http.post("/api/venues", content=b" " * (5 * MiB))
    assert declared.status_code == 413 and declared.json()["error"]["code"] == "body_too_large"
    streamed = await admin.http.post("/api/venues", content=chunks(5 * MiB))  # no length
    assert streamed.status_code == 413 and streamed.json()["error"]["code"] == "body_too_large"


@pytest.mark.parametrize(
    "body",
    [b'{"name": NaN}', b'{"name": Infinity}', b"[" * 100_000 + b"]" * 100_000],
    ids=["nan", "infinity", "deep"],
)
async def test_what_is_not_json_is_refused(admin: Api, body: bytes) -> None:
    r = await admin.http.post(
        "/api/venues", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_json"


@pytest.mark.parametrize(
    "path",
    [
        f"/api/sessions/{2**63}",
        f"/api/sessions/{2**70}/seat-map",
        "/api/sessions/0",
        f"/api/tickets/{2**64}/code",
        "/api/door/keys?session_id=99999999999999999999999",
        "/api/door/keys?session_id=%D9%A1",
    ],
)
async def test_ids_out_of_range_are_refused(admin: Api, path: str) -> None:
    r = await admin.http.get(path)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["code"] in {"invalid_id", "invalid_field"}


async def test_numbers_beyond_their_column_are_refused(admin: Api) -> None:
    venue = (await admin.http.post("/api/venues", json={"name": "Bounds"})).json()
    room = (await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "R"})).json()
    base = {
        "room_id": room["id"],
        "event_name": "Bounds",
        "starts_at": "2030-01-01T20:00:00+00:00",
        "ends_at": "2030-01-01T22:00:00+00:00",
        "seated": False,
        "capacity": 10,
    }
    for body, name in [
        ({**base, "tariffs": [{"name": "T", "price_cents": 2**31}]}, "price_cents"),
        ({**base, "capacity": 2**40}, "capacity"),
        ({**base, "room_id": 2**63}, "room_id"),
        ({**base, "event_name": "x" * 5000}, "event_name"),
    ]:
        r = await admin.http.post("/api/sessions", json=body)
        assert r.status_code == 400, (name, r.text)
        assert r.json()["error"]["field"] == name
    r = await admin.http.post(f"/api/door/signing-keys/{2**15}/retire")
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_id"


async def test_a_general_admission_quantity_is_bounded(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(seated=False, capacity=100)
    hold = await buyer.hold(s.id, quantity=2)
    assert hold.status_code == 200
    r = await buyer.buy(s.id, hold.json()["token"], [], s.tariff_ids[0], quantity=10**9)
    assert r.status_code == 400 and r.json()["error"]["field"] == "quantity"
    big = await buyer.hold(s.id, quantity=2**40)
    assert big.status_code == 400
