"""Releasing unscanned reservations (the Contingents tab): preview, confirm, seats freed live."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import httpx

from tests import support
from tests.door.test_door_api import buy_tickets, code_of, door_session, scan
from tests.support import Api, ServerProcess, WsClient, staff_token

FREE, SOLD = 0, 2


async def reserve(api: Api, session: dict[str, Any], n: int) -> list[int]:
    """The cash desk books ``n`` seats as a reservation; returns the ticket ids."""
    seats, session["free_seats"] = session["free_seats"][:n], session["free_seats"][n:]
    token = (await api.hold(session["id"], seats)).json()["token"]
    r = await api.http.post(
        f"/api/sessions/{session['id']}/orders",
        json={
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "reservation": True,
            "items": [{"seat": s, "tariff_id": session["tariffs"][0]["id"]} for s in seats],
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["kind"] == "reservation"
    return [t["id"] for t in r.json()["tickets"]]


async def booked_minutes_ago(tickets: list[int], minutes: int) -> None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        await conn.execute(
            "UPDATE tickets SET created_at = now() - make_interval(mins => $2)"
            " WHERE id = ANY($1::bigint[])",
            tickets,
            minutes,
        )
    finally:
        await conn.close()


async def statuses(tickets: list[int]) -> list[str]:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        rows = await conn.fetch(
            "SELECT status FROM tickets WHERE id = ANY($1::bigint[]) ORDER BY id", tickets
        )
    finally:
        await conn.close()
    return [r["status"] for r in rows]


async def preview(api: Api, session_id: int, **params: Any) -> dict[str, Any]:
    r = await api.http.get(f"/api/sessions/{session_id}/unscanned-reservations", params=params)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_release_frees_exactly_the_old_unscanned_reservations_live(
    admin: Api, buyer: Api, server: ServerProcess
) -> None:
    session = await door_session(admin)
    _, sold = await buy_tickets(buyer, session, 1)
    old = await reserve(admin, session, 2)
    recent = await reserve(admin, session, 1)
    scanned = await reserve(admin, session, 1)
    await booked_minutes_ago(sold + old + scanned, 20)
    await booked_minutes_ago(recent, 5)
    assert (await scan(admin, await code_of(admin, scanned[0])))["result"] == "valid"

    before = await preview(admin, session["id"])
    assert (before["count"], before["ticket_ids"], before["places"]) == (2, old, 0)
    old_seats = before["seats"]
    # a longer delay frees less: the organiser chooses the minutes
    assert (await preview(admin, session["id"], older_than_minutes=30))["count"] == 0
    assert (await preview(admin, session["id"], older_than_minutes=1))["count"] == 3

    channel = f"seats:{session['id']}"
    ws = await WsClient.connect(server.ws_url)
    try:
        await ws.send({"type": "subscribe", "channel": channel})
        await ws.until(lambda m: m.get("type") == "snapshot")
        assert ws.states[channel].count(SOLD) == 5
        r = await admin.http.post(
            f"/api/sessions/{session['id']}/release-unscanned",
            json={"older_than_minutes": 15, "expected_count": 2},
        )
        assert r.status_code == 200, r.text
        assert (r.json()["count"], r.json()["seats"]) == (2, old_seats)
        await ws.until(
            lambda m: (
                m.get("type") == "delta" and sorted(s for _, s in m["changes"]) == [FREE, FREE]
            )
        )
        # the sale, the recent and the scanned reservation stay sold
        assert ws.states[channel].count(SOLD) == 3
    finally:
        await ws.close()
    assert await statuses(old) == ["cancelled", "cancelled"]
    assert await statuses(sold + recent + scanned) == ["active"] * 3
    # their codes are revoked at the door; the freed seats can be sold again
    assert (await scan(admin, await code_of_cancelled(admin, old[0])))["reason"] == "revoked"
    assert (await admin.hold(session["id"], old_seats)).status_code == 200
    assert (await preview(admin, session["id"]))["count"] == 0


async def code_of_cancelled(admin: Api, ticket: int) -> str:
    """The code the holder printed before the release (issued again from its seed)."""
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        await conn.execute("UPDATE tickets SET status = 'active' WHERE id = $1", ticket)
        try:
            return await code_of(admin, ticket)
        finally:
            await conn.execute("UPDATE tickets SET status = 'cancelled' WHERE id = $1", ticket)
    finally:
        await conn.close()


async def test_release_refuses_when_the_count_changed_since_the_preview(
    admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    tickets = await reserve(admin, session, 2)
    await booked_minutes_ago(tickets, 16)
    assert (await preview(admin, session["id"]))["count"] == 2
    # meanwhile one reservation holder arrives at the door
    assert (await scan(admin, await code_of(admin, tickets[0])))["result"] == "valid"
    r = await admin.http.post(
        f"/api/sessions/{session['id']}/release-unscanned", json={"expected_count": 2}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "count_changed"
    assert r.json()["error"]["count"] == 1
    assert await statuses(tickets) == ["active", "active"]  # nothing was released
    r = await admin.http.post(
        f"/api/sessions/{session['id']}/release-unscanned", json={"expected_count": 1}
    )
    assert r.status_code == 200 and r.json()["ticket_ids"] == [tickets[1]]


async def test_released_general_admission_places_can_be_sold_again(admin: Api) -> None:
    info = await admin.create_session(seated=False, capacity=3)
    token = (await admin.hold(info.id, quantity=3)).json()["token"]
    r = await admin.http.post(
        f"/api/sessions/{info.id}/orders",
        json={
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "reservation": True,
            "items": [{"tariff_id": info.tariff_ids[0], "quantity": 3}],
        },
    )
    assert r.status_code == 201, r.text
    tickets = [t["id"] for t in r.json()["tickets"]]
    await booked_minutes_ago(tickets, 60)
    assert (await admin.hold(info.id, quantity=1)).status_code == 409  # full
    assert (await preview(admin, info.id))["places"] == 3
    r = await admin.http.post(
        f"/api/sessions/{info.id}/release-unscanned",
        json={"older_than_minutes": 15, "expected_count": 3},
    )
    assert r.status_code == 200 and r.json()["places"] == 3
    assert (await admin.hold(info.id, quantity=3)).status_code == 200


async def reservation_order(
    api: Api, session: dict[str, Any], token: str, seats: list[str]
) -> httpx.Response:
    return await api.http.post(
        f"/api/sessions/{session['id']}/orders",
        json={
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "reservation": True,
            "items": [{"seat": s, "tariff_id": session["tariffs"][0]["id"]} for s in seats],
        },
    )


async def test_only_staff_reserve_and_only_admins_release(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    seats = session["free_seats"][:1]
    token = (await buyer.hold(session["id"], seats)).json()["token"]
    r = await reservation_order(buyer, session, token, seats)
    assert r.status_code == 401
    assert (
        await buyer.http.get(f"/api/sessions/{session['id']}/unscanned-reservations")
    ).status_code == 401
    r = await buyer.http.post(
        f"/api/sessions/{session['id']}/release-unscanned", json={"expected_count": 0}
    )
    assert r.status_code == 401


async def test_the_cash_desk_reserves_a_signed_in_user_without_reserve_may_not(
    admin: Api, server: ServerProcess
) -> None:
    session = await door_session(admin)
    cashier = Api(server.url, await staff_token(admin, "pos"))
    stats = Api(server.url, await staff_token(admin, "stats"))
    try:
        await reserve(cashier, session, 1)
        sold = (await cashier.hold(session["id"], session["free_seats"][:1])).json()["token"]
        r = await cashier.buy(
            session["id"], sold, session["free_seats"][:1], session["tariffs"][0]["id"]
        )
        assert r.status_code == 201 and r.json()["channel"] == "pos"
        seats = session["free_seats"][1:2]
        token = (await stats.hold(session["id"], seats)).json()["token"]
        r = await reservation_order(stats, session, token, seats)
        assert r.status_code == 403
        assert r.json()["error"] | {"message": ""} == {
            "code": "forbidden",
            "message": "",
            "needs": ["reserve"],
        }
        r = await stats.buy(session["id"], token, seats, session["tariffs"][0]["id"])
        assert r.status_code == 201 and r.json()["channel"] == "web"
    finally:
        await cashier.close()
        await stats.close()
