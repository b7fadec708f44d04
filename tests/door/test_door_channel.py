"""The door channel over the WebSocket: live counters, new entries and revocations."""

from __future__ import annotations

from typing import Any

from scanning.codes import b45decode, b45encode
from tests import support
from tests.door.test_door_api import buy_tickets, code_of, door_session, scan
from tests.support import Api, ServerProcess, WsClient


async def _steward(admin: Api, server: ServerProcess, name: str) -> str:
    r = await admin.http.post(
        "/api/users", json={"username": name, "password": "door-password", "roles": ["entry_check"]}
    )
    assert r.status_code == 201
    login = await admin.http.post(
        "/api/auth/login", json={"username": name, "password": "door-password"}
    )
    token: str = login.json()["token"]
    return token


async def test_door_channel_needs_a_door_role(server: ServerProcess) -> None:
    client = await WsClient.connect(server.ws_url)
    try:
        await client.send({"type": "subscribe", "channel": "door:1", "id": 1})
        reply = await client.recv()
        assert reply == {
            "type": "error",
            "code": "forbidden",
            "message": "your role may not watch this channel",
            "id": 1,
        }
        await client.send({"type": "ping"})
        assert (await client.recv())["type"] == "pong"
    finally:
        await client.close()


async def test_scans_push_counters_entries_and_revocations(
    admin: Api, server: ServerProcess
) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(admin, session, 2)
    codes = [await code_of(admin, t) for t in tickets]
    client = await WsClient.connect(server.ws_url)
    try:
        await client.send({"type": "auth", "token": await _steward(admin, server, "steward1")})
        assert (await client.recv())["type"] == "authenticated"
        channel = f"door:{session['id']}"
        await client.send({"type": "subscribe", "channel": channel})
        first = await client.recv()
        assert first["type"] == "door" and first["counters"]["entered"] == 0

        assert (await scan(admin, codes[0], door="north"))["result"] == "valid"
        assert (await scan(admin, codes[0], door="south"))["reason"] == "already_entered"

        def counted(m: dict[str, Any]) -> bool:
            c = m.get("counters") or {}
            return m["type"] == "door" and c.get("entered") == 1 and c.get("refused") == 1

        seen: list[dict[str, Any]] = []

        def collect(m: dict[str, Any]) -> bool:
            seen.append(m)
            return counted(m)

        last = await client.until(collect)
        counters = last["counters"]
        assert counters["refused_by_reason"] == {"already_entered": 1}
        assert counters["doors"]["north"]["entered"] == 1
        assert counters["doors"]["south"]["refused"] == 1
        assert counters["rate_per_minute"] == 1
        entries = [e for m in seen if m["type"] == "door" for e in m["entries"]]
        assert [(e["ticket_id"], e["door"]) for e in entries] == [(tickets[0], "north")]

        r = await admin.http.post(f"/api/tickets/{tickets[1]}/refund")
        assert r.status_code == 200
        revoked = await client.until(lambda m: m["type"] == "revoked")
        assert revoked["codes"] == [r.json()["revoked"]]
    finally:
        await client.close()


async def test_a_forged_code_counts_against_the_session_being_scanned(admin: Api) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(admin, session, 1)
    code = await code_of(admin, tickets[0])
    raw = bytearray(b45decode(code[2:]))
    raw[8] ^= 0x01  # one bit of the ticket id: the signature no longer matches
    forged = "GQ" + b45encode(bytes(raw))
    result = await scan(admin, forged, door="north", session_id=session["id"])
    assert (result["result"], result["reason"]) == ("refused", "forged")
    lost = await scan(admin, forged, door="north", session_id=999_999_999)
    assert lost["reason"] == "forged"  # a session that does not exist: stored, not counted

    async def refused_forged() -> int:
        r = await admin.http.get(f"/api/sessions/{session['id']}/entries")
        return int(r.json()["refused_by_reason"].get("forged", 0))

    assert await refused_forged() == 1
    client = support.redis_connect()
    await client.delete(f"gq:{{d:{session['id']}}}:cnt")
    await client.aclose()
    assert await refused_forged() == 1  # rebuilt from Postgres, the same
