"""Scanning over the WebSocket: the same rules and idempotency as over HTTP."""

from __future__ import annotations

from tests.door.test_door_api import buy_tickets, code_of, db_fetch, door_session
from tests.support import Api, ServerProcess, WsClient


async def test_scan_over_the_websocket(
    admin: Api, admin_token: str, buyer: Api, server: ServerProcess
) -> None:
    session = await door_session(admin)
    _, (ticket,) = await buy_tickets(buyer, session, 1)
    code = await code_of(admin, ticket)
    ws = await WsClient.connect(server.ws_url)
    try:
        scan = {"type": "scan", "id": 1, "code": code, "nonce": "ws-nonce-0001", "door": "n"}
        await ws.send(scan)
        refused = await ws.until(lambda m: m.get("id") == 1)
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        await ws.send({"type": "auth", "token": admin_token})
        await ws.until(lambda m: m["type"] == "authenticated")
        await ws.send({**scan, "id": 2})
        first = await ws.until(lambda m: m.get("id") == 2)
        assert (first["type"], first["result"], first["ticket"]["id"]) == (
            "scan_result",
            "valid",
            ticket,
        )
        await ws.send({**scan, "id": 3})
        retry = await ws.until(lambda m: m.get("id") == 3)
        assert retry["result"] == "valid" and retry["replayed"]
        assert retry["scan_id"] == first["scan_id"]
        stored = await db_fetch(
            "SELECT s.id FROM scans s JOIN scan_nonces n ON n.scan_id = s.id"
            " AND n.received_at = s.received_at WHERE s.ticket_id = $1",
            ticket,
        )
        assert [r["id"] for r in stored] == [first["scan_id"]]  # stored once
        await ws.send({**scan, "id": 4, "nonce": "ws-nonce-0002", "door": "s"})
        second = await ws.until(lambda m: m.get("id") == 4)
        assert (second["reason"], second["entered_door"]) == ("already_entered", "n")
    finally:
        await ws.close()
