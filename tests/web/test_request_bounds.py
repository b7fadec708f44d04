"""Every input is bounded at the edge: a body too large, a number out of its column's
range, a JSON constant that is not JSON or a quantity without limit get a clear 4xx and
change nothing (never a 500 or a dropped connection)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

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


async def ga_session_body(admin: Api) -> dict[str, Any]:
    """A valid general-admission session to create, in a fresh room."""
    venue = (await admin.http.post("/api/venues", json={"name": "Bounds"})).json()
    room = (await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "R"})).json()
    return {
        "room_id": room["id"],
        "event_name": "Bounds",
        "starts_at": "2030-01-01T20:00:00+00:00",
        "ends_at": "2030-01-01T22:00:00+00:00",
        "seated": False,
        "capacity": 10,
    }


async def test_numbers_beyond_their_column_are_refused(admin: Api) -> None:
    base = await ga_session_body(admin)
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


async def test_text_postgres_cannot_store_is_refused(admin: Api) -> None:
    for body in ({"name": "a\u0000b"}, {"name": "\ud800"}):
        r = await admin.http.post(
            "/api/venues", content=json.dumps(body), headers={"content-type": "application/json"}
        )
        assert r.status_code == 400 and r.json()["error"]["field"] == "name", r.text
    s = await admin.create_session(seated=False, capacity=10)
    hold = (await admin.hold(s.id, quantity=1)).json()
    order = {
        "hold_token": hold["token"],
        "idempotency_key": "key\u0000key\u0000",
        "items": [{"tariff_id": s.tariff_ids[0], "quantity": 1}],
    }
    r = await admin.http.post(f"/api/sessions/{s.id}/orders", json=order)
    assert r.status_code == 400 and r.json()["error"]["field"] == "idempotency_key"


async def test_sessions_refuse_what_their_tables_cannot_hold(admin: Api) -> None:
    base = await ga_session_body(admin)
    big = {"name": "C", "capacity": 2**31 - 1}
    for body, code in [
        ({**base, "starts_at": "0001-01-01T00:00:00+14:00"}, "invalid_field"),  # no UTC time
        ({**base, "tariffs": ["name"]}, "invalid_field"),  # "name" in "name"
        ({**base, "contingents": [5]}, "invalid_field"),
        (
            {**base, "tariffs": [{"name": "T", "price_cents": 1, "currency": "EURO"}]},
            "invalid_field",
        ),
        ({**base, "contingents": [big, big]}, "invalid_field"),  # more than an integer
        ({**base, "blocked_seats": ["A-1"]}, "not_seated"),  # general admission
    ]:
        r = await admin.http.post("/api/sessions", json=body)
        assert r.status_code == 400 and r.json()["error"]["code"] == code, (body, r.text)
    s = await admin.create_session(seated=False, capacity=10)
    tariff = {"name": "T", "price_cents": 1, "currency": "EURO"}
    r = await admin.http.post(f"/api/sessions/{s.id}/tariffs", json=tariff)
    assert r.status_code == 400 and r.json()["error"]["field"] == "currency"


async def test_passes_refuse_ids_and_urls_postgres_would_choke_on(admin: Api) -> None:
    body = {
        "holder_name": "Camille",
        "valid_from": "2030-01-01T00:00:00+00:00",
        "valid_until": "2030-06-30T00:00:00+00:00",
    }
    for extra in (
        {"session_ids": [2**63]},
        {"all_sessions": True, "photo": "https://example.org/\u0000.jpg"},
    ):
        r = await admin.http.post("/api/passes", json={**body, **extra})
        assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field", r.text


async def test_a_malformed_id_is_not_found_whatever_the_method(admin: Api) -> None:
    for method, path in [
        ("POST", "/api/sessions/abc/holds"),
        ("DELETE", "/api/sessions/-1/holds/0123456789abcdef"),
        ("PUT", "/api/rooms/1.5/seat-plan"),
        ("POST", "/api/no-such-thing"),
    ]:
        r = await admin.http.request(method, path, json={})
        assert r.status_code == 404 and r.json()["error"]["code"] == "not_found", (path, r.text)
    r = await admin.http.get("/api/scan")  # a known path, the wrong method
    assert r.status_code == 405 and r.json()["error"]["code"] == "method_not_allowed"
