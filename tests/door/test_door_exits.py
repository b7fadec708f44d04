"""Exit scans, re-entry and the "inside now" count, online, over the WebSocket and offline."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from scanning.codes import TicketClaims, TicketScope
from scanning.decision import Entry, Mode, Reason, ScannerContext, TicketFacts, decide
from tests import support
from tests.door.test_door_api import (
    buy_tickets,
    code_of,
    db_fetch,
    door_session,
    offline,
    scan,
    upload,
)
from tests.door.test_door_race import _max_in_flight
from tests.support import Api, ServerProcess, WsClient


async def allow_reentry(api: Api, session: dict[str, Any], allowed: bool = True) -> None:
    r = await api.http.put(
        f"/api/sessions/{session['id']}/door-settings", json={"reentry_allowed": allowed}
    )
    assert r.status_code == 200 and r.json()["reentry_allowed"] is allowed, r.text


async def counters(api: Api, session: dict[str, Any]) -> dict[str, Any]:
    r = await api.http.get(f"/api/sessions/{session['id']}/entries")
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def outcome(result: dict[str, Any]) -> tuple[str, str | None]:
    return result["result"], result["reason"]


# --------------------------------------------------------------------------- pure rules

SEED = b"\x01\x02\x03\x04\x05\x06"
CLAIMS = TicketClaims(42, TicketScope.SESSION, 7, 1_000, 2_000, SEED)
FACTS = TicketFacts(ticket_id=42, session_id=7, room_id=3, status="active", current_seed=SEED)
WENT_OUT = Entry(at=1_100, door="north", inside=False)


def test_rules_of_exits_and_reentry() -> None:
    entering = ScannerContext(now=1_500)
    leaving = ScannerContext(now=1_500, mode=Mode.EXIT)
    back_allowed = ScannerContext(now=1_500, reentry_allowed=True)
    assert decide(CLAIMS, FACTS, entering, WENT_OUT).reason is Reason.NO_REENTRY
    assert decide(CLAIMS, FACTS, back_allowed, WENT_OUT).valid
    assert decide(CLAIMS, FACTS, back_allowed, Entry(1_100, "n")).reason is Reason.ALREADY_ENTERED
    assert decide(CLAIMS, FACTS, leaving, Entry(1_100, "n")).valid
    assert decide(CLAIMS, FACTS, leaving, WENT_OUT).reason is Reason.NOT_INSIDE
    assert decide(CLAIMS, FACTS, leaving, None).reason is Reason.NOT_INSIDE
    # leaving after the end of the session is normal; a revoked code still does not pass
    late_exit = ScannerContext(now=9_999, mode=Mode.EXIT)
    assert decide(CLAIMS, FACTS, late_exit, Entry(1_100, "n")).valid
    revoked = TicketFacts(42, 7, 3, "cancelled", SEED)
    assert decide(CLAIMS, revoked, leaving, Entry(1_100, "n")).reason is Reason.REVOKED


# --------------------------------------------------------------------------- online


async def test_without_reentry_a_ticket_that_went_out_stays_out(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    assert outcome(await scan(admin, code, mode="exit")) == ("refused", "not_inside")
    assert outcome(await scan(admin, code, door="north")) == ("valid", None)
    out = await scan(admin, code, door="terrace", mode="exit")
    assert outcome(out) == ("valid", None) and out["mode"] == "exit"
    again = await scan(admin, code, door="south")
    assert outcome(again) == ("refused", "no_reentry")
    assert again["entered_door"] == "north"
    assert outcome(await scan(admin, code, mode="exit")) == ("refused", "not_inside")
    c = await counters(admin, session)
    assert (c["entered"], c["exited"], c["inside"]) == (1, 1, 0)
    assert c["doors"]["terrace"]["exited"] == 1
    assert c["refused_by_reason"] == {"not_inside": 2, "no_reentry": 1}
    # the exit is durable: the scan and the entry row say so
    entry = await db_fetch(
        "SELECT inside, exits, last_exit_door FROM entries WHERE ticket_id = $1", ticket
    )
    assert [tuple(r) for r in entry] == [(False, 1, "terrace")]
    exits = await db_fetch(
        "SELECT door, result FROM scans WHERE ticket_id = $1 AND mode = 'exit' ORDER BY id",
        ticket,
    )
    assert [tuple(r) for r in exits] == [
        ("north", "refused"),
        ("terrace", "valid"),
        ("north", "refused"),
    ]


async def test_with_reentry_a_ticket_goes_out_and_back_in(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    await allow_reentry(admin, session)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    assert outcome(await scan(admin, code)) == ("valid", None)
    assert outcome(await scan(admin, code)) == ("refused", "already_entered")
    for _ in range(2):
        assert outcome(await scan(admin, code, mode="exit")) == ("valid", None)
        back = await scan(admin, code, door="south")
        assert outcome(back) == ("valid", None) and back["reentry"] is True
    c = await counters(admin, session)
    assert (c["entered"], c["exited"], c["inside"]) == (3, 2, 1)
    assert c["doors"]["south"]["entered"] == 2


async def test_a_retried_exit_scan_counts_once(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    await scan(admin, code)
    first = await scan(admin, code, mode="exit", nonce="exit-retry-1")
    retry = await scan(admin, code, mode="exit", nonce="exit-retry-1")
    assert outcome(first) == outcome(retry) == ("valid", None) and retry["replayed"]
    assert retry["mode"] == "exit"
    c = await counters(admin, session)
    assert (c["entered"], c["exited"], c["inside"]) == (1, 1, 0)


async def test_a_scan_mode_is_entry_or_exit(admin: Api) -> None:
    r = await admin.http.post(
        "/api/scan", json={"code": "x", "nonce": uuid.uuid4().hex, "door": "n", "mode": "out"}
    )
    assert r.status_code == 400 and "mode" in r.text


async def test_only_an_admin_changes_the_reentry_setting(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    r = await buyer.http.put(
        f"/api/sessions/{session['id']}/door-settings", json={"reentry_allowed": True}
    )
    assert r.status_code == 401
    r = await admin.http.get(f"/api/sessions/{session['id']}/door-settings")
    assert r.json() == {"session_id": session["id"], "reentry_allowed": False}


async def test_concurrent_entries_of_a_ticket_that_went_out_admit_exactly_one(
    admin: Api, admin_token: str, buyer: Api, server: ServerProcess
) -> None:
    """Re-entry allowed: a ticket out of the room, scanned at once at many doors by two
    processes, lets exactly one person back in; every round, whatever the interleaving."""
    second = ServerProcess()
    other = None
    try:
        second.wait_ready()
        other = Api(second.url, admin_token)
        apis = [admin, other]
        session = await door_session(admin)
        await allow_reentry(admin, session)
        _, (ticket,) = await buy_tickets(buyer, session, 1)
        code = await code_of(admin, ticket)
        assert outcome(await scan(admin, code)) == ("valid", None)

        async def one(i: int) -> tuple[float, float, dict[str, Any]]:
            sent = time.monotonic()
            r = await apis[i % 2].http.post(
                "/api/scan",
                json={"code": code, "nonce": uuid.uuid4().hex, "door": f"door-{i % 4}"},
            )
            assert r.status_code == 200, r.text
            return sent, time.monotonic(), r.json()

        for _ in range(4):
            assert outcome(await scan(admin, code, mode="exit")) == ("valid", None)
            results = await asyncio.gather(*(one(i) for i in range(40)))
            assert [r["result"] for _, _, r in results].count("valid") == 1
            assert {r["reason"] for _, _, r in results} == {None, "already_entered"}
            # control: the scans really were in flight together
            assert _max_in_flight([(s, e) for s, e, _ in results]) >= 10
        c = await counters(admin, session)
        assert (c["entered"], c["exited"], c["inside"]) == (5, 4, 1)
        rows = await db_fetch(
            "SELECT inside, reentries, exits FROM entries WHERE ticket_id = $1", ticket
        )
        assert [tuple(r) for r in rows] == [(True, 4, 4)]
    finally:
        if other is not None:
            await other.close()
        second.stop()


async def test_exit_over_the_websocket(
    admin: Api, admin_token: str, buyer: Api, server: ServerProcess
) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    await scan(admin, code)
    ws = await WsClient.connect(server.ws_url)
    try:
        await ws.send({"type": "auth", "token": admin_token})
        await ws.until(lambda m: m["type"] == "authenticated")
        exit_scan = {
            "type": "scan",
            "id": 1,
            "code": code,
            "nonce": "ws-exit-0001",
            "door": "n",
            "mode": "exit",
        }
        await ws.send(exit_scan)
        result = await ws.until(lambda m: m.get("id") == 1)
        assert (result["type"], result["result"], result["mode"]) == (
            "scan_result",
            "valid",
            "exit",
        )
        await ws.send({**exit_scan, "id": 2, "nonce": "ws-exit-0002"})
        again = await ws.until(lambda m: m.get("id") == 2)
        assert again["reason"] == "not_inside"
    finally:
        await ws.close()
    assert (await counters(admin, session))["inside"] == 0


async def test_counters_with_exits_are_rebuilt_from_postgres(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    await allow_reentry(admin, session)
    _, tickets = await buy_tickets(buyer, session, 3)
    codes = [await code_of(admin, t) for t in tickets]
    for code in codes:
        await scan(admin, code, door="north")
    await scan(admin, codes[0], door="side", mode="exit")
    await scan(admin, codes[1], door="side", mode="exit")
    await scan(admin, codes[0], door="south")
    await scan(admin, codes[2], door="south")  # already inside: refused
    before = await counters(admin, session)
    assert (before["entered"], before["exited"], before["inside"]) == (4, 2, 2)
    client = support.redis_connect()
    await client.delete(f"gq:{{d:{session['id']}}}:cnt")
    await client.aclose()
    after = await counters(admin, session)
    assert after == before


# --------------------------------------------------------------------------- offline


async def test_offline_exits_and_reentries_apply_in_scan_time_order(admin: Api, buyer: Api) -> None:
    session = await door_session(admin)
    _, (a, b) = await buy_tickets(buyer, session, 2)
    code_a, code_b = await code_of(admin, a), await code_of(admin, b)
    t0 = datetime.now(UTC) - timedelta(minutes=10)

    def at(minutes: int, code: str, mode: str = "entry") -> dict[str, Any]:
        return {**offline(code, t0 + timedelta(minutes=minutes)), "mode": mode}

    # sent out of order: the scan times decide
    result = await upload(
        admin,
        "tab-x",
        [
            at(2, code_a, "exit"),
            at(1, code_a),
            at(3, code_a),
            at(0, code_b, "exit"),
            at(4, code_b),
        ],
    )
    assert [(r["result"], r["reason"]) for r in result["results"]] == [
        ("valid", None),
        ("valid", None),
        ("refused", "no_reentry"),
        ("refused", "not_inside"),
        ("valid", None),
    ]
    c = await counters(admin, session)
    assert (c["entered"], c["exited"], c["inside"]) == (2, 1, 1)
    # the same ticket later, online: it is out, and stays out
    assert outcome(await scan(admin, code_a)) == ("refused", "no_reentry")

    await allow_reentry(admin, session)
    later = await upload(admin, "tab-x", [at(5, code_a), at(6, code_b, "exit")])
    assert [r["result"] for r in later["results"]] == ["valid", "valid"]
    c = await counters(admin, session)
    assert (c["entered"], c["exited"], c["inside"]) == (3, 2, 1)
    rows = await db_fetch(
        "SELECT ticket_id, inside, reentries, exits FROM entries WHERE session_id = $1"
        " ORDER BY ticket_id",
        session["id"],
    )
    assert [tuple(r) for r in rows] == [(a, True, 1, 1), (b, False, 0, 1)]
    bundle = (await admin.http.get("/api/door/keys", params={"session_id": session["id"]})).json()
    assert {e["ticket_id"]: e["inside"] for e in bundle["entered"]} == {a: True, b: False}
    assert bundle["session"]["reentry_allowed"] is True
