"""Signing keys rotate: a new key waits on standby until every process knows it, old codes
stay valid until their key is retired, then are forged."""

from __future__ import annotations

import asyncio

from scanning.codes import decode_key_id, verify_code
from tests.door.test_door_api import buy_tickets, code_of, door_session, scan
from tests.support import Api, ServerProcess


async def code_signed_by(api: Api, ticket: int, key_id: int, within: float = 10) -> str:
    """The ticket's code once it is signed by ``key_id`` (after the key's standby)."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        code = await code_of(api, ticket)
        if decode_key_id(code) == key_id:
            return code
        assert asyncio.get_running_loop().time() < deadline, "the new key never signed"
        await asyncio.sleep(0.1)


async def public_keys(api: Api, session_id: int) -> dict[int, bytes]:
    bundle = (await api.http.get(f"/api/door/keys?session_id={session_id}")).json()
    return {int(k): bytes.fromhex(v) for k, v in bundle["public_keys"].items()}


async def wallet_refusal(api: Api, code: str) -> str | None:
    """The error code of the wallet page's look-up of ``code`` (None when it opens)."""
    r = await api.http.post("/api/wallet", json={"code": code})
    return None if r.status_code == 200 else str(r.json()["error"]["code"])


async def test_rotation_keeps_old_codes_until_the_old_key_is_retired(admin: Api) -> None:
    session = await door_session(admin)
    _, (first, second) = await buy_tickets(admin, session, 2)
    old_code = await code_of(admin, first)
    old_key = (await admin.http.get("/api/door/signing-keys")).json()["keys"][-1]["key_id"]

    rotated = await admin.http.post("/api/door/signing-keys/rotate")
    assert rotated.status_code == 201
    new_key = rotated.json()["key_id"]
    assert new_key == old_key + 1 and rotated.json()["state"] == "standby"
    assert decode_key_id(await code_of(admin, second)) == old_key  # standby: not signing yet
    new_code = await code_signed_by(admin, second, new_key)
    keys = await public_keys(admin, session["id"])
    assert verify_code(new_code, keys).ticket_id == second
    assert {old_key, new_key} <= keys.keys()

    refused = await admin.http.post(f"/api/door/signing-keys/{new_key}/retire")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "key_active"
    assert (await scan(admin, new_code))["result"] == "valid"
    # the wallet's look-up remembers the codes it verified: until their key goes
    assert await wallet_refusal(admin, old_code) != "invalid_code"
    assert (await admin.http.post(f"/api/door/signing-keys/{old_key}/retire")).status_code == 200

    assert (await scan(admin, old_code))["reason"] == "forged"
    assert await wallet_refusal(admin, old_code) == "invalid_code"
    assert old_key not in await public_keys(admin, session["id"])
    # the same ticket's code, fetched again, is signed by the new key and still admits
    assert (await scan(admin, await code_of(admin, first)))["result"] == "valid"


async def test_only_an_admin_manages_signing_keys(buyer: Api) -> None:
    assert (await buyer.http.get("/api/door/signing-keys")).status_code == 401
    assert (await buyer.http.post("/api/door/signing-keys/rotate")).status_code == 401


async def test_a_code_signed_by_a_new_key_is_valid_on_every_process_at_once(
    server: ServerProcess, admin: Api, admin_token: str
) -> None:
    other = ServerProcess()
    other.wait_ready()
    try:
        door_b = Api(other.url, admin_token)
        session = await door_session(admin)
        _, tickets = await buy_tickets(admin, session, 6)
        new_key = (await admin.http.post("/api/door/signing-keys/rotate")).json()["key_id"]
        # Process A signs with the new key as soon as its standby is over; process B must
        # already know it: every code is valid there the moment A hands it out.
        first = await code_signed_by(admin, tickets[0], new_key)
        results = [await scan(door_b, first)]
        for ticket in tickets[1:]:
            results.append(await scan(door_b, await code_of(admin, ticket)))
        await door_b.close()
    finally:
        other.stop()
    assert [r["result"] for r in results] == ["valid"] * 6, results
