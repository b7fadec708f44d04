"""The back office's catalogue routes: tariffs with categories, the tariff grid, editing a
session, its tickets, and the audit entry each change writes."""

from __future__ import annotations

import json
import uuid
from typing import Any

import asyncpg

from tests import support
from tests.support import Api, SessionInfo


async def audit_entries(action: str, subject: str) -> list[dict[str, Any]]:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        rows = await conn.fetch(
            "SELECT actor_name, action, subject, details FROM audit_log"
            " WHERE action = $1 AND subject = $2 ORDER BY id",
            action,
            subject,
        )
    finally:
        await conn.close()
    return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


async def tariff_count(session_id: int) -> int:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM tariffs WHERE session_id = $1", session_id
        )
    finally:
        await conn.close()
    return count


def error_of(response: Any) -> dict[str, Any]:
    error: dict[str, Any] = response.json()["error"]
    return error


async def test_a_tariff_bound_to_categories_shows_them_in_the_session(admin: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    body = {
        "name": "Student",
        "price_cents": 800,
        "tax_rate_bp": 550,
        "categories": ["Standard"],
        "note": "student card checked at the door",
    }
    r = await admin.http.post(f"/api/sessions/{s.id}/tariffs", json=body)
    assert r.status_code == 201, r.text
    created = r.json()
    assert created == {**body, "id": created["id"], "currency": "EUR", "active": True}
    detail = (await admin.http.get(f"/api/sessions/{s.id}")).json()
    assert created in detail["tariffs"]
    full = next(t for t in detail["tariffs"] if t["name"] == "Full")
    assert full["categories"] == [] and full["tax_rate_bp"] == 0 and full["note"] == ""
    entry = (await audit_entries("tariff.create", f"tariff:{created['id']}"))[0]
    assert entry["actor_name"] == "admin" and entry["details"]["categories"] == ["Standard"]


async def test_a_category_the_plan_lacks_is_refused(admin: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    body = {"name": "Box", "price_cents": 9000, "categories": ["Boxes"]}
    r = await admin.http.post(f"/api/sessions/{s.id}/tariffs", json=body)
    assert r.status_code == 400
    assert error_of(r)["code"] == "unknown_category" and error_of(r)["categories"] == ["Boxes"]
    ga = await admin.create_session(seated=False, capacity=10)
    r = await admin.http.post(f"/api/sessions/{ga.id}/tariffs", json=body)
    assert error_of(r)["code"] == "unknown_category"  # general admission has no categories
    assert await tariff_count(s.id) == 2 and await tariff_count(ga.id) == 2


async def test_editing_a_tariff_changes_only_what_is_sent_and_is_audited(admin: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    tariff_id = s.tariff_ids[1]
    change = {"price_cents": 950, "tax_rate_bp": 2000, "categories": ["Premium"], "note": "x"}
    r = await admin.http.patch(f"/api/tariffs/{tariff_id}", json=change)
    assert r.status_code == 200, r.text
    assert r.json() == {
        **change,
        "id": tariff_id,
        "session_id": s.id,
        "name": "Reduced",
        "currency": "EUR",
        "active": True,
    }
    r = await admin.http.patch(f"/api/tariffs/{tariff_id}", json={"active": False, "note": ""})
    assert r.json()["active"] is False and r.json()["note"] == "" and r.json()["price_cents"] == 950
    entries = await audit_entries("tariff.update", f"tariff:{tariff_id}")
    assert [e["details"] for e in entries] == [
        {"session_id": s.id, **change},
        {"session_id": s.id, "active": False, "note": ""},
    ]


async def test_editing_a_tariff_refuses_unknown_categories_and_missing_tariffs(
    admin: Api,
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    r = await admin.http.patch(f"/api/tariffs/{s.tariff_ids[0]}", json={"categories": ["Pit"]})
    assert r.status_code == 400 and error_of(r)["code"] == "unknown_category"
    r = await admin.http.patch("/api/tariffs/987654321", json={"note": "x"})
    assert r.status_code == 404 and error_of(r)["code"] == "not_found"
    r = await admin.http.patch(f"/api/tariffs/{s.tariff_ids[0]}", json={"tax_rate_bp": 10_001})
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_field"


def grid_tariffs() -> list[dict[str, Any]]:
    return [
        {"name": "Premium seat", "price_cents": 4000, "categories": ["Premium"]},
        {"name": "Youth", "price_cents": 1200, "tax_rate_bp": 550, "note": "under 26"},
    ]


async def test_the_tariff_grid_creates_every_tariff_on_every_session(admin: Api) -> None:
    sessions = [await admin.create_session(n_seats=20, per_row=10) for _ in range(3)]
    ids = [s.id for s in sessions]
    r = await admin.http.post(
        "/api/tariff-grid", json={"session_ids": ids, "tariffs": grid_tariffs()}
    )
    assert r.status_code == 201, r.text
    created = r.json()["tariffs"]
    assert [(t["session_id"], t["name"]) for t in created] == [
        (i, name) for i in ids for name in ("Premium seat", "Youth")
    ]
    for s in sessions:
        names = {
            t["name"] for t in (await admin.http.get(f"/api/sessions/{s.id}")).json()["tariffs"]
        }
        assert names == {"Full", "Reduced", "Premium seat", "Youth"}
    subject = "sessions:" + ",".join(map(str, ids))
    (entry,) = await audit_entries("tariff.grid", subject)
    assert entry["details"]["created"] == [t["id"] for t in created]


async def test_the_tariff_grid_is_all_or_nothing(admin: Api) -> None:
    seated = await admin.create_session(n_seats=20, per_row=10)
    ga = await admin.create_session(seated=False, capacity=50)
    body = {"session_ids": [seated.id, 987654321], "tariffs": grid_tariffs()}
    r = await admin.http.post("/api/tariff-grid", json=body)
    assert r.status_code == 404
    assert error_of(r)["code"] == "not_found" and error_of(r)["sessions"] == [987654321]
    # the GA session has no "Premium" category: nothing is created on the seated one either
    body = {"session_ids": [seated.id, ga.id], "tariffs": grid_tariffs()}
    r = await admin.http.post("/api/tariff-grid", json=body)
    assert r.status_code == 400
    assert error_of(r)["code"] == "unknown_category" and error_of(r)["session_id"] == ga.id
    assert await tariff_count(seated.id) == 2 and await tariff_count(ga.id) == 2
    r = await admin.http.post("/api/tariff-grid", json={"session_ids": [], "tariffs": []})
    assert r.status_code == 400 and error_of(r)["code"] == "invalid_field"


async def test_editing_a_session_changes_its_name_and_times(admin: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    change = {
        "event_name": "Renamed",
        "starts_at": "2030-02-01T19:00:00+00:00",
        "ends_at": "2030-02-01T21:30:00+00:00",
        "sales_open": False,
    }
    r = await admin.http.patch(f"/api/sessions/{s.id}", json=change)
    assert r.status_code == 200, r.text
    assert {k: r.json()[k] for k in change} == change
    (entry,) = await audit_entries("session.update", f"session:{s.id}")
    assert entry["details"]["event_name"] == "Renamed" and entry["details"]["sales_open"] is False
    r = await admin.http.patch(f"/api/sessions/{s.id}", json={"ends_at": "2030-02-01T18:00:00Z"})
    assert r.status_code == 400 and error_of(r)["field"] == "ends_at"
    r = await admin.http.patch(f"/api/sessions/{s.id}", json={"capacity": 10})
    assert r.status_code == 400 and error_of(r)["code"] == "capacity_seated"
    r = await admin.http.patch("/api/sessions/987654321", json={"sales_open": True})
    assert r.status_code == 404


async def sell_places(admin: Api, buyer: Api, s: SessionInfo, quantity: int) -> dict[str, Any]:
    token = (await buyer.hold(s.id, quantity=quantity)).json()["token"]
    r = await buyer.buy(s.id, token, [], s.tariff_ids[0], quantity=quantity)
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


async def test_general_admission_capacity_changes_live_but_not_below_sold(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=10)
    await sell_places(admin, buyer, s, 4)
    r = await admin.http.patch(f"/api/sessions/{s.id}", json={"capacity": 3})
    assert r.status_code == 409
    assert error_of(r)["code"] == "capacity_below_sold" and error_of(r)["sold"] == 4
    fill = (await buyer.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert (fill["capacity"], fill["free"]) == (10, 6)
    r = await admin.http.patch(f"/api/sessions/{s.id}", json={"capacity": 5})
    assert r.status_code == 200 and r.json()["capacity"] == 5
    fill = (await buyer.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert (fill["capacity"], fill["sold"], fill["free"]) == (5, 4, 1)
    r = await buyer.hold(s.id, quantity=2)  # one place left, live and in Postgres
    assert r.status_code == 409 and error_of(r)["code"] == "not_enough_places"
    (entry,) = await audit_entries("session.update", f"session:{s.id}")
    assert entry["details"] == {"capacity": 5}


async def test_a_capacity_change_keeps_the_holds(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(seated=False, capacity=10)
    held = (await buyer.hold(s.id, quantity=3)).json()
    r = await admin.http.patch(f"/api/sessions/{s.id}", json={"capacity": 20})
    assert r.status_code == 200
    still = await buyer.http.get(f"/api/sessions/{s.id}/holds/{held['token']}")
    assert still.status_code == 200 and still.json()["quantity"] == 3
    fill = (await buyer.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert (fill["capacity"], fill["held"], fill["free"]) == (20, 3, 17)


async def test_the_tickets_of_a_session_are_listed_page_by_page(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    token = (await buyer.hold(s.id, s.seat_ids[:3])).json()["token"]
    r = await buyer.http.post(
        f"/api/sessions/{s.id}/orders",
        json={
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"seat": seat, "tariff_id": s.tariff_ids[1]} for seat in s.seat_ids[:3]],
            "buyer": {"name": "Ada Lovelace", "email": "ada@example.org"},
        },
    )
    assert r.status_code == 201, r.text
    order = r.json()
    first = (await admin.http.get(f"/api/sessions/{s.id}/tickets", params={"limit": 2})).json()
    assert first["next_offset"] == 2 and len(first["tickets"]) == 2
    ticket = first["tickets"][0]
    assert ticket["seat_id"] == s.seat_ids[0] and ticket["seat_label"] == "1"
    assert ticket["seat_row"] == "A" and ticket["tariff"] == "Reduced"
    assert ticket["price_cents"] == 1000 and ticket["status"] == "active"
    assert ticket["order_id"] == order["id"] and ticket["channel"] == "web"
    assert ticket["buyer_name"] == "Ada Lovelace" and ticket["kind"] == "sale"
    rest = (await admin.http.get(f"/api/sessions/{s.id}/tickets?limit=2&offset=2")).json()
    assert rest["next_offset"] is None and [t["seat_id"] for t in rest["tickets"]] == [
        s.seat_ids[2]
    ]
    assert (await buyer.http.get(f"/api/sessions/{s.id}/tickets")).status_code == 401
    r = await admin.http.get("/api/sessions/987654321/tickets")
    assert r.status_code == 404


async def test_every_catalogue_change_is_audited(admin: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    room = s.detail["room_id"]
    venue = await audit_entries("room.create", f"room:{room}")
    assert venue and venue[0]["actor_name"] == "admin"
    (plan,) = await audit_entries("plan.import", f"room:{room}")
    assert plan["details"]["seat_count"] == 20 and plan["details"]["format"] == "guichet"
    (created,) = await audit_entries("session.create", f"session:{s.id}")
    assert created["details"]["seated"] is True and created["details"]["tariffs"] == 2
    for blocked in (True, False):
        body = {"seats": s.seat_ids[:2], "blocked": blocked}
        r = await admin.http.post(f"/api/sessions/{s.id}/blocked-seats", json=body)
        assert r.status_code == 200, r.text
    (block,) = await audit_entries("seats.block", f"session:{s.id}")
    (unblock,) = await audit_entries("seats.unblock", f"session:{s.id}")
    assert block["details"] == unblock["details"] == {"seats": s.seat_ids[:2]}
    r = await admin.http.post("/api/venues", json={"name": "Audited"})
    (venue_entry,) = await audit_entries("venue.create", f"venue:{r.json()['id']}")
    assert venue_entry["details"] == {"name": "Audited"}


async def test_contingents_are_replaced_seat_groups_or_the_capacity(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    groups = {
        "contingents": [
            {"name": "Press", "capacity": 0, "seat_ids": s.seat_ids[:2]},
            {"name": "Artists", "capacity": 0, "seat_ids": s.seat_ids[2:5]},
        ]
    }
    r = await admin.http.put(f"/api/sessions/{s.id}/contingents", json=groups)
    assert r.status_code == 200, r.text
    assert [(c["name"], c["capacity"]) for c in r.json()["contingents"]] == [
        ("Press", 2),
        ("Artists", 3),
    ]
    twice = {
        "contingents": [
            {"name": "A", "capacity": 0, "seat_ids": s.seat_ids[:2]},
            {"name": "B", "capacity": 0, "seat_ids": s.seat_ids[1:3]},
        ]
    }
    r = await admin.http.put(f"/api/sessions/{s.id}/contingents", json=twice)
    assert (r.status_code, error_of(r)["code"]) == (400, "seat_in_two_contingents")
    detail = (await admin.http.get(f"/api/sessions/{s.id}")).json()
    assert [c["name"] for c in detail["contingents"]] == ["Press", "Artists"]  # unchanged

    ga = await admin.create_session(seated=False, capacity=10)
    await sell_places(admin, buyer, ga, 4)
    split = {"contingents": [{"name": "Door", "capacity": 30}, {"name": "Web", "capacity": 20}]}
    r = await admin.http.put(f"/api/sessions/{ga.id}/contingents", json=split)
    assert r.status_code == 200 and r.json()["capacity"] == 50
    fill = (await buyer.http.get(f"/api/sessions/{ga.id}/fill")).json()
    assert (fill["capacity"], fill["sold"]) == (50, 4)
    small = {"contingents": [{"name": "Door", "capacity": 3}]}
    r = await admin.http.put(f"/api/sessions/{ga.id}/contingents", json=small)
    assert (r.status_code, error_of(r)["code"]) == (409, "capacity_below_sold")
    (entry,) = await audit_entries("session.contingents", f"session:{ga.id}")
    assert entry["details"]["set"] == [
        {"name": "Door", "capacity": 30},
        {"name": "Web", "capacity": 20},
    ]
