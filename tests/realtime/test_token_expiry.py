"""An open WebSocket does not outlive its token: when it expires, the connection leaves the
channels its roles opened and is told, and stays usable as an anonymous one."""

from __future__ import annotations

import asyncpg

from server.identity.auth import TokenSigner
from tests import support
from tests.support import Api, ServerProcess, WsClient


async def short_token(seconds: int) -> str:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        secret = await conn.fetchval("SELECT value FROM settings WHERE name = 'token_secret'")
    finally:
        await conn.close()
    return TokenSigner(secret.encode()).issue(1, "steward", ["entry_check"], ttl_s=seconds)


async def test_an_expired_token_leaves_its_channels_and_the_connection_stays(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=4)
    client = await WsClient.connect(server.ws_url)
    await client.send({"type": "auth", "token": await short_token(2)})
    assert (await client.recv())["type"] == "authenticated"
    await client.send({"type": "subscribe", "channel": f"door:{s.id}"})
    assert (await client.recv())["type"] == "door"
    await client.send({"type": "subscribe", "channel": f"seats:{s.id}"})
    assert (await client.recv())["type"] == "snapshot"

    left = await client.recv(within=5)
    assert left == {"type": "unsubscribed", "channel": f"door:{s.id}"}
    expired = await client.recv()
    assert (expired["type"], expired["code"]) == ("error", "token_expired")
    await client.send({"type": "subscribe", "channel": f"door:{s.id}"})
    assert (await client.recv())["code"] == "forbidden"  # anonymous again
    await client.send({"type": "ping", "id": "still-here"})
    assert await client.recv() == {"type": "pong", "id": "still-here"}
    await client.close()
