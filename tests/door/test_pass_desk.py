"""Pass types, the pass search, and booking a session on a pass at the desk (by its id or
its scanned code): idempotent, no admission, the door's refusals as 409 codes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import support
from tests.cash.helpers import cashier, db, new_register, open_session
from tests.cash.test_pass_sales import pass_type, sale_body, sell
from tests.door.test_door_api import door_session, scan
from tests.door.test_door_passes import create_pass, pass_code
from tests.support import Api, ServerProcess


async def test_pass_types_are_made_listed_and_changed_by_the_catalogue(
    server: ServerProcess, admin: Api
) -> None:
    session = await door_session(admin)
    card = await pass_type(admin, session_ids=[session["id"]], max_sessions=3)
    assert card["session_ids"] == [session["id"]] and card["valid_from"] is None
    changed = await admin.http.patch(
        f"/api/pass-types/{card['id']}", json={"price_cents": 2500, "active": False}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["price_cents"], changed.json()["active"]) == (2500, False)
    cash = await cashier(admin, server)
    try:
        listed = (await cash.http.get("/api/pass-types")).json()["pass_types"]
        assert card["id"] not in [t["id"] for t in listed]
        every = (await cash.http.get("/api/pass-types", params={"all": "1"})).json()
        assert card["id"] in [t["id"] for t in every["pass_types"]]
        r = await cash.http.post("/api/pass-types", json={"name": "X", "price_cents": 1})
        assert r.status_code == 403
    finally:
        await cash.close()
    now = datetime.now(UTC)
    period = {"valid_from": now.isoformat(), "valid_until": (now + timedelta(days=1)).isoformat()}
    for body, code in (
        ({"name": "X", "price_cents": 100}, "invalid_field"),  # neither period nor sessions
        (
            {"name": "X", "price_cents": 100, "session_ids": [session["id"]], **period},
            "invalid_field",
        ),
        ({"name": "X", "price_cents": 100, "session_ids": [987_654_321]}, "unknown_sessions"),
        ({"name": "X", "price_cents": -1, **period}, "invalid_field"),
        ({"name": "X", "price_cents": 100, "tax_rate_bp": 10_001, **period}, "invalid_field"),
        ({"name": "X", "price_cents": 100, "currency": "eur", **period}, "invalid_field"),
        (
            {
                "name": "X",
                "price_cents": 100,
                "valid_from": period["valid_until"],
                "valid_until": period["valid_from"],
            },
            "invalid_field",
        ),
    ):
        r = await admin.http.post("/api/pass-types", json=body)
        assert (r.status_code, r.json()["error"]["code"]) == (400, code), (body, r.text)
    r = await admin.http.patch(f"/api/pass-types/{card['id']}", json={"session_ids": []})
    assert r.json()["error"]["code"] == "invalid_field"  # a sessions type keeps some
    assert (await admin.http.patch("/api/pass-types/987654321", json={})).status_code == 404


async def test_passes_are_found_by_name_first_name_id_status_and_type(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server)
    try:
        kind = await pass_type(admin)
        rs = await open_session(cash, register_id)
        # letters only: a digit in the names would match a search by pass id as text
        tag = uuid.uuid4().hex[:6].translate(str.maketrans("0123456789", "ghijklmnop"))
        names = [("Ines", f"Moreau{tag}"), ("Hugo", f"Moreau{tag}"), ("Ines", f"Petit{tag}")]
        ids = []
        for first, last in names:
            body = sale_body(kind["id"], holder_first_name=first, holder_last_name=last)
            ids.append((await sell(cash, rs, body)).json()["pass"]["id"])

        async def found(**params: Any) -> list[int]:
            r = await cash.http.get("/api/passes", params=params)
            assert r.status_code == 200, r.text
            return [p["id"] for p in r.json()["passes"]]

        assert await found(q=f"moreau{tag}") == [ids[1], ids[0]]  # newest first
        assert await found(q=f"ines moreau{tag}") == [ids[0]]
        assert await found(q=f"MOREAU{tag} Ines") == [ids[0]]
        assert await found(q=str(ids[2])) == [ids[2]]
        assert await found(q=f"#{ids[2]}") == [ids[2]]
        assert await found(pass_type_id=kind["id"]) == ids[::-1]
        assert await found(pass_type_id=kind["id"], limit=1) == [ids[2]]
        page = (
            await cash.http.get("/api/passes", params={"pass_type_id": kind["id"], "limit": 2})
        ).json()
        assert page["next_offset"] == 2
        assert await found(q="100%_", pass_type_id=kind["id"]) == []  # taken literally
        assert await found(q=f"petit{tag}", status="refunded") == []
        one = (await cash.http.get("/api/passes", params={"q": f"petit{tag}"})).json()["passes"][0]
        assert one["pass_type"] == kind["name"] and one["has_photo"] is True
        assert one["bookings"] == 0 and "photo" not in one
        for params in (
            {"q": "x" * 101},
            {"status": "lost"},
            {"pass_type_id": "abc"},
            {"limit": "0"},
            {"offset": "-1"},
        ):
            r = await cash.http.get("/api/passes", params=params)
            assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_field"), params
        door = support.Api(server.url, await support.staff_token(admin, "entry_check"))
        try:
            assert (await door.http.get("/api/passes", params={"q": tag})).status_code == 200
            r = await door.http.post(f"/api/passes/{ids[0]}/bookings", json={"session_id": 1})
            assert r.status_code == 403
        finally:
            await door.close()
    finally:
        await cash.close()


async def test_a_session_is_booked_on_a_pass_by_id_or_code_once(
    server: ServerProcess, admin: Api
) -> None:
    session = await door_session(admin)
    other = await door_session(admin)
    third = await door_session(admin)
    created = await create_pass(admin, [session["id"], other["id"], third["id"]], max_sessions=2)
    code = await pass_code(admin, created["id"])
    cash = await cashier(admin, server)
    try:
        r = await cash.http.post(
            f"/api/passes/{created['id']}/bookings", json={"session_id": session["id"]}
        )
        assert r.status_code == 201, r.text
        booking = r.json()["booking"]
        assert r.json()["created"] is True and booking["session_id"] == session["id"]
        assert booking["entered_at"] is None  # booked, not admitted
        assert booking["seat_idx"] in await support.sold_in_postgres(session["id"])
        assert (await support.redis_seats(session["id"]))[booking["seat_idx"]] == "s"

        again = await cash.http.post(
            "/api/pass-bookings", json={"code": code, "session_id": session["id"]}
        )
        assert again.status_code == 200, again.text
        assert again.json() == {"pass_id": created["id"], "created": False, "booking": booking}
        by_code = await cash.http.post(
            "/api/pass-bookings", json={"code": f" {code}\n", "session_id": other["id"]}
        )
        assert by_code.status_code == 201, by_code.text
        full = await cash.http.post(
            f"/api/passes/{created['id']}/bookings", json={"session_id": third["id"]}
        )
        assert (full.status_code, full.json()["error"]["code"]) == (
            409,
            "pass_not_valid_for_session",
        )  # max_sessions: 2
        got = (await cash.http.get(f"/api/passes/{created['id']}")).json()
        assert sorted(b["session_id"] for b in got["bookings"]) == [session["id"], other["id"]]
        result = await scan(admin, code, session_id=session["id"])  # the door admits it
        assert result["result"] == "valid" and result["ticket"]["id"] == booking["ticket_id"]
    finally:
        await cash.close()


async def test_bookings_refused_change_nothing(server: ServerProcess, admin: Api) -> None:
    session = await door_session(admin, n_seats=1)
    elsewhere = await door_session(admin)
    created = await create_pass(admin, [session["id"]])
    taker = await create_pass(admin, [session["id"]])
    cash = await cashier(admin, server)
    try:
        url = f"/api/passes/{created['id']}/bookings"
        tickets = await _tickets()
        for body, status, code in (
            ({"session_id": elsewhere["id"]}, 409, "pass_not_valid_for_session"),
            ({"session_id": 987_654_321}, 404, "not_found"),
            ({"session_id": 0}, 400, "invalid_field"),
            ({}, 400, "invalid_field"),
        ):
            r = await cash.http.post(url, json=body)
            assert r.status_code == status, r.text
            if status != 404:
                assert r.json()["error"]["code"] == code
        r = await cash.http.post(
            "/api/passes/987654321/bookings", json={"session_id": session["id"]}
        )
        assert r.status_code == 404
        for code, expected in (("GQnot-a-code", "invalid_code"), ("x" * 501, "invalid_field")):
            r = await cash.http.post(
                "/api/pass-bookings", json={"code": code, "session_id": session["id"]}
            )
            assert (r.status_code, r.json()["error"]["code"]) == (400, expected)
        assert await _tickets() == tickets
        first = await cash.http.post(
            f"/api/passes/{taker['id']}/bookings", json={"session_id": session["id"]}
        )
        assert first.status_code == 201  # the only seat
        r = await cash.http.post(url, json={"session_id": session["id"]})
        assert (r.status_code, r.json()["error"]["code"]) == (409, "session_full")
        held = await support.redis_seats(session["id"])
        assert list(held.values()) == ["s"]  # no hold left behind
        conn = await db()
        try:
            await conn.execute(
                "UPDATE passes SET status = 'cancelled' WHERE id = $1", created["id"]
            )
        finally:
            await conn.close()
        r = await cash.http.post(url, json={"session_id": session["id"]})
        assert r.json()["error"]["code"] == "pass_not_active"
    finally:
        await cash.close()


async def _tickets() -> int:
    conn = await db()
    try:
        count: int = await conn.fetchval("SELECT count(*) FROM tickets")
        return count
    finally:
        await conn.close()


async def test_a_ticket_code_does_not_book(server: ServerProcess, admin: Api) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server)
    try:
        kind = await pass_type(admin)
        rs = await open_session(cash, register_id)
        sold = (await sell(cash, rs, sale_body(kind["id"]))).json()
        session = await door_session(admin)
        r = await cash.http.post(
            "/api/pass-bookings", json={"code": sold["pass"]["code"], "session_id": session["id"]}
        )
        assert r.status_code == 201, r.text  # a period pass covers a session starting in it
    finally:
        await cash.close()
