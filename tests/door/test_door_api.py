"""Door control through the HTTP API: codes, refunds, online scans, offline uploads."""

from __future__ import annotations

import dataclasses
import io
import os
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import zxingcpp
from PIL import Image

from scanning.codes import KeyRing, StoredKey, encode_code, verify_code
from seatmap.generate import grid
from seatmap.plan import plan_to_document
from tests import support
from tests.support import Api, redis_seats


def nonce() -> str:
    return uuid.uuid4().hex


async def door_session(
    api: Api, *, starts_in: timedelta = timedelta(minutes=30), n_seats: int = 20
) -> dict[str, Any]:
    """A seated session starting soon (so its codes are valid now)."""
    venue = (await api.http.post("/api/venues", json={"name": "Door venue"})).json()
    room = (await api.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "Hall"})).json()
    plan = grid(n_seats, 10)
    r = await api.http.put(f"/api/rooms/{room['id']}/seat-plan", json=plan_to_document(plan))
    assert r.status_code == 201, r.text
    start = datetime.now(UTC) + starts_in
    r = await api.http.post(
        "/api/sessions",
        json={
            "room_id": room["id"],
            "event_name": "Door test",
            "seated": True,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "tariffs": [{"name": "Full", "price_cents": 1500, "currency": "EUR"}],
        },
    )
    assert r.status_code == 201, r.text
    session: dict[str, Any] = r.json()
    session["free_seats"] = [seat.id for seat in plan.seats]
    return session


async def buy_tickets(api: Api, session: dict[str, Any], n: int) -> tuple[str, list[int]]:
    """Buys ``n`` seats; returns the hold token and the ticket ids."""
    free, session["free_seats"] = session["free_seats"][:n], session["free_seats"][n:]
    token = (await api.hold(session["id"], free)).json()["token"]
    r = await api.buy(session["id"], token, free, session["tariffs"][0]["id"])
    assert r.status_code == 201, r.text
    return token, [t["id"] for t in r.json()["tickets"]]


async def code_of(api: Api, ticket_id: int) -> str:
    r = await api.http.get(f"/api/tickets/{ticket_id}/code")
    assert r.status_code == 200, r.text
    return r.text


async def scan(api: Api, code: str, door: str = "north", **extra: Any) -> dict[str, Any]:
    body = {"code": code, "nonce": extra.pop("nonce", None) or nonce(), "door": door, **extra}
    r = await api.http.post("/api/scan", json=body)
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def db_fetch(query: str, *args: Any) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        return list(await conn.fetch(query, *args))
    finally:
        await conn.close()


# --------------------------------------------------------------------------- codes


async def test_the_ticket_qr_image_decodes_back_to_its_code(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    token, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    assert code.startswith("GQ")
    r = await buyer.http.get(
        f"/api/tickets/{ticket}/code", params={"format": "png", "hold_token": token}
    )
    assert r.status_code == 200 and r.headers["content-type"] == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(r.content)))
    assert [d.text for d in decoded] == [code]
    for fmt, media in (("svg", "image/svg+xml"), ("pdf", "application/pdf")):
        r = await admin.http.get(f"/api/tickets/{ticket}/code", params={"format": fmt})
        assert r.status_code == 200 and r.headers["content-type"].startswith(media)


async def test_only_staff_or_the_buyer_get_a_code(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    anonymous = await buyer.http.get(f"/api/tickets/{ticket}/code")
    wrong = await buyer.http.get(f"/api/tickets/{ticket}/code", params={"hold_token": "x" * 22})
    assert anonymous.status_code == wrong.status_code == 404


async def test_the_code_is_stable_until_refund_revokes_it(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 2)
    code = await code_of(admin, tickets[0])
    assert await code_of(admin, tickets[0]) == code
    r = await admin.http.post(f"/api/tickets/{tickets[0]}/refund")
    assert r.status_code == 200, r.text
    assert (await admin.http.post(f"/api/tickets/{tickets[0]}/refund")).status_code == 409
    assert (await admin.http.get(f"/api/tickets/{tickets[0]}/code")).status_code == 409
    # the seat is free again, live
    assert 0 not in await redis_seats(session["id"])
    result = await scan(admin, code)
    assert (result["result"], result["reason"]) == ("refused", "refunded")
    bundle = (await admin.http.get("/api/door/keys", params={"session_id": session["id"]})).json()
    assert r.json()["revoked"] in bundle["revoked"]


async def test_refund_needs_the_refund_role(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    r = await buyer.http.post(f"/api/tickets/{ticket}/refund")
    assert r.status_code == 401


async def test_the_refund_role_refunds_only_the_sales_its_user_booked(
    admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    _, (on_the_web,) = await buy_tickets(buyer, session, 1)
    base = str(admin.http.base_url)
    cashier = Api(base, await support.staff_token(admin, "pos", "refund"))
    other = Api(base, await support.staff_token(admin, "pos", "refund"))
    try:
        _, (at_the_desk,) = await buy_tickets(cashier, session, 1)
        for api, ticket in ((cashier, on_the_web), (other, at_the_desk)):
            r = await api.http.post(f"/api/tickets/{ticket}/refund")
            assert r.status_code == 403 and r.json()["error"]["code"] == "not_own_sale"
        r = await cashier.http.post(f"/api/tickets/{at_the_desk}/refund")
        assert r.status_code == 200 and r.json()["status"] == "refunded"
        r = await cashier.http.post(f"/api/tickets/{at_the_desk}/refund")
        assert r.status_code == 409  # its own, already refunded
    finally:
        await cashier.close()
        await other.close()
    r = await admin.http.post(f"/api/tickets/{on_the_web}/refund")  # refund.any
    assert r.status_code == 200


# --------------------------------------------------------------------------- online scans


async def test_first_scan_is_valid_second_says_when_and_where(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    first = await scan(admin, code, door="north", session_id=session["id"])
    assert first["result"] == "valid" and first["reason"] is None
    assert first["ticket"]["id"] == ticket and first["ticket"]["tariff"] == "Full"
    assert first["ticket"]["seat"]
    second = await scan(admin, code, door="south")
    assert (second["result"], second["reason"]) == ("refused", "already_entered")
    assert second["entered_door"] == "north" and second["entered_at"]


async def test_a_retried_scan_returns_the_first_result(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    once = await scan(admin, code, nonce="retry-nonce-1")
    again = await scan(admin, code, nonce="retry-nonce-1")
    assert once["result"] == again["result"] == "valid"
    assert again["replayed"] and again["scan_id"] == once["scan_id"]
    rows = await db_fetch(
        "SELECT tableoid::regclass::text AS part FROM scans WHERE ticket_id = $1", ticket
    )
    assert [r["part"] for r in rows] == [f"scans_p{datetime.now(UTC):%Y%m}"]  # stored once


async def test_a_nonce_reused_for_another_ticket_is_refused_as_a_mismatch(
    admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    _, (first, second) = await buy_tickets(buyer, session, 2)
    once = await scan(admin, await code_of(admin, first), nonce="reused-nonce-1")
    assert once["result"] == "valid"
    r = await admin.http.post(
        "/api/scan",
        json={"code": await code_of(admin, second), "nonce": "reused-nonce-1", "door": "main"},
    )
    assert r.status_code == 422 and r.json()["error"]["code"] == "nonce_mismatch"
    rows = await db_fetch("SELECT count(*) AS n FROM entries WHERE ticket_id = $1", second)
    assert rows[0]["n"] == 0  # the second ticket was not let in under the first's nonce


async def test_refusals_wrong_session_not_yet_valid_forged_unknown(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    later = await door_session(admin, starts_in=timedelta(days=3))
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    _, (future_ticket,) = await buy_tickets(buyer, later, 1)
    code = await code_of(admin, ticket)
    wrong = await scan(admin, code, session_id=later["id"])
    assert (wrong["reason"], wrong["session_id"]) == ("wrong_session", session["id"])
    early = await scan(admin, await code_of(admin, future_ticket))
    assert early["reason"] == "not_yet_valid"
    forged = code[:-4] + ("0000" if code[-4:] != "0000" else "1111")
    assert (await scan(admin, forged))["reason"] in ("forged", "unknown")
    assert (await scan(admin, "hello"))["reason"] == "unknown"
    assert (await scan(admin, code))["result"] == "valid"  # none of those let it in


async def test_every_scan_is_stored_with_device_door_and_times(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    await scan(admin, code, door="east", device="tablet-7", scanned_at="2030-01-01T19:00:00+00:00")
    await scan(admin, code, door="west")
    rows = await db_fetch(
        "SELECT device, door, result, reason, scanned_at, received_at, offline FROM scans"
        " WHERE ticket_id = $1 ORDER BY id",
        ticket,
    )
    assert [(r["device"], r["door"], r["result"], r["reason"]) for r in rows] == [
        ("admin/tablet-7", "east", "valid", None),
        ("admin/default", "west", "refused", "already_entered"),
    ]
    assert rows[0]["scanned_at"].year == 2030 and rows[0]["received_at"].year < 2030
    assert not rows[0]["offline"]


async def test_scanning_needs_the_entry_check_role(admin: Api, buyer: Api) -> None:
    r = await buyer.http.post("/api/scan", json={"code": "x", "nonce": nonce(), "door": "n"})
    assert r.status_code == 401
    r = await admin.http.post(
        "/api/users",
        json={"username": f"seller-{nonce()[:6]}", "password": "a-long-password", "roles": ["pos"]},
    )
    assert r.status_code in (200, 201), r.text
    login = await admin.http.post(
        "/api/auth/login", json={"username": r.json()["username"], "password": "a-long-password"}
    )
    seller = Api(str(admin.http.base_url), login.json()["token"])
    r = await seller.http.post("/api/scan", json={"code": "x", "nonce": nonce(), "door": "n"})
    await seller.close()
    assert r.status_code == 403


# --------------------------------------------------------------------------- offline uploads


def offline(code: str, at: datetime, door: str = "gate", n: str | None = None) -> dict[str, Any]:
    return {"code": code, "nonce": n or nonce(), "door": door, "scanned_at": at.isoformat()}


async def upload(api: Api, device: str, scans: list[dict[str, Any]]) -> dict[str, Any]:
    r = await api.http.post("/api/scan/batch", json={"device": device, "scans": scans})
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


async def test_offline_upload_is_idempotent(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 3)
    now = datetime.now(UTC)
    scans = [offline(await code_of(admin, t), now) for t in tickets]
    first = await upload(admin, "tab-a", scans)
    assert (first["accepted"], first["valid"]) == (3, 3)
    again = await upload(admin, "tab-a", scans)
    assert (again["accepted"], again["replayed"]) == (0, 3)
    assert [r["scan_id"] for r in again["results"]] == [r["scan_id"] for r in first["results"]]
    rows = await db_fetch(
        "SELECT count(*) AS n FROM scans WHERE session_id = $1 AND offline", session["id"]
    )
    assert rows[0]["n"] == 3


async def test_earliest_scan_wins_even_when_uploaded_later(admin: Api, buyer: Api) -> None:
    """Online scan at 12:00 admitted the ticket; a tablet offline had admitted it at 11:58.
    The earlier scan becomes the entry, both scans stay, the organiser sees a conflict."""
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    online = await scan(admin, code, door="north")
    assert online["result"] == "valid"
    earlier = datetime.now(UTC) - timedelta(minutes=2)
    result = await upload(admin, "tab-b", [offline(code, earlier, door="side")])
    assert result["results"][0]["result"] == "valid" and result["conflicts"] == 1
    entry = await db_fetch("SELECT door, entered_at FROM entries WHERE ticket_id = $1", ticket)
    assert entry[0]["door"] == "side"
    conflicts = (
        await admin.http.get("/api/door/conflicts", params={"session_id": session["id"]})
    ).json()["conflicts"]
    assert len(conflicts) == 1
    assert conflicts[0]["kept"]["door"] == "side" and conflicts[0]["other"]["door"] == "north"
    assert conflicts[0]["kept"]["offline"] and not conflicts[0]["other"]["offline"]
    scans = await db_fetch("SELECT result FROM scans WHERE ticket_id = $1", ticket)
    assert sorted(r["result"] for r in scans) == ["valid", "valid"]  # no record lost


async def test_later_offline_scan_at_another_device_is_a_conflict(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    t0 = datetime.now(UTC) - timedelta(minutes=5)
    await upload(admin, "tab-1", [offline(code, t0, door="a")])
    late = await upload(admin, "tab-2", [offline(code, t0 + timedelta(minutes=1), door="b")])
    assert late["results"][0]["reason"] == "already_entered" and late["conflicts"] == 1
    # the same device scanning twice knew its own entry: refused, not a conflict
    same = await upload(admin, "tab-1", [offline(code, t0 + timedelta(minutes=2), door="a")])
    assert same["results"][0]["reason"] == "already_entered" and same["conflicts"] == 0


async def test_a_ten_thousand_scan_batch_is_judged_scan_by_scan(admin: Api, buyer: Api) -> None:
    """10,000 distinct, correctly signed codes (each one really verified): the 10 current
    codes enter, the 9,990 with another seed are refused as revoked."""
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 10)
    codes = [await code_of(admin, t) for t in tickets]
    keys = await db_fetch("SELECT key_id, private_key_b64, active, retired FROM signing_keys")
    ring = KeyRing.from_stored(StoredKey(*k) for k in keys)
    template = verify_code(codes[0], ring.public_keys())
    codes += [
        encode_code(
            dataclasses.replace(template, ticket_id=tickets[i % 10], seed=os.urandom(6)), ring
        )
        for i in range(9_990)
    ]
    start = datetime.now(UTC) - timedelta(minutes=1)
    scans = [offline(code, start + timedelta(milliseconds=i)) for i, code in enumerate(codes)]
    result = await upload(admin, "big-tablet", scans)  # its speed: `make bench`
    assert (result["accepted"], result["valid"]) == (10_000, 10)
    assert {r["reason"] for r in result["results"][10:]} == {"revoked"}
    rows = await db_fetch("SELECT count(*) AS n FROM scans WHERE device = 'admin/big-tablet'")
    assert rows[0]["n"] == 10_000


# --------------------------------------------------------------------------- counters


async def test_counters_count_entries_and_refusals_per_door(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 3)
    for t in tickets[:2]:
        await scan(admin, await code_of(admin, t), door="north")
    await scan(admin, await code_of(admin, tickets[0]), door="south")
    counters = (await admin.http.get(f"/api/sessions/{session['id']}/entries")).json()
    assert (counters["entered"], counters["inside"], counters["refused"]) == (2, 2, 1)
    assert counters["refused_by_reason"] == {"already_entered": 1}
    assert counters["doors"]["north"]["entered"] == 2
    assert counters["doors"]["south"]["refused"] == 1
    assert counters["rate_per_minute"] == 2


async def test_counters_are_rebuilt_from_postgres_after_a_redis_flush(
    admin: Api, buyer: Api
) -> None:

    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 2)
    await scan(admin, await code_of(admin, tickets[0]), door="north")
    await scan(admin, await code_of(admin, tickets[0]), door="north")
    before = (await admin.http.get(f"/api/sessions/{session['id']}/entries")).json()
    client = support.redis_connect()
    await client.delete(f"gq:{{d:{session['id']}}}:cnt")
    await client.aclose()
    after = (await admin.http.get(f"/api/sessions/{session['id']}/entries")).json()
    assert after == before


async def test_a_scanned_seat_names_its_row(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    result = await scan(admin, await code_of(admin, ticket))
    row = await db_fetch(
        "SELECT se.row_label, se.label FROM tickets t JOIN sessions s ON s.id = t.session_id"
        " JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx WHERE t.id = $1",
        ticket,
    )
    assert (result["ticket"]["row"], result["ticket"]["seat"]) == (
        row[0]["row_label"],
        row[0]["label"],
    )
    info = (await admin.http.get(f"/api/tickets/{ticket}/code", params={"format": "json"})).json()
    assert info["ticket"]["row"] == row[0]["row_label"]
