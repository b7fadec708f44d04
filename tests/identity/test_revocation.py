"""Revocation: a revoked device's token, or a user's tokens, are refused at once by every
server process, and open WebSockets lose their roles; a fresh sign-in works again."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.door.test_door_api import door_session
from tests.identity.test_devices import create_device, enrol
from tests.support import Api, ServerProcess, WsClient

pytestmark = pytest.mark.slow


async def status_everywhere(servers: list[ServerProcess], token: str) -> list[int]:
    statuses = []
    for s in servers:
        async with httpx.AsyncClient(base_url=s.url, timeout=10) as http:
            r = await http.get(
                "/api/door/keys",
                params={"session_id": 1},
                headers={"Authorization": f"Bearer {token}"},
            )
            statuses.append(r.status_code if r.status_code == 401 else 200)
    return statuses


async def test_a_revoked_device_is_refused_everywhere_at_once(
    server: ServerProcess, second_server: ServerProcess, admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    created = await create_device(admin, room_id=session["room_id"])
    token = (await enrol(buyer, created["enrolment_code"])).json()["token"]
    servers = [server, second_server]
    assert await status_everywhere(servers, token) == [200, 200]
    ws = await WsClient.connect(second_server.ws_url)  # on the process that did not revoke
    await ws.send({"type": "auth", "token": token})
    assert (await ws.recv())["type"] == "authenticated"
    await ws.send({"type": "subscribe", "channel": f"door:{session['id']}"})
    assert (await ws.recv())["type"] == "door"

    r = await admin.http.post(f"/api/devices/{created['device']['id']}/revoke")
    assert r.status_code == 200 and r.json() == {"id": created["device"]["id"], "revoked": True}

    assert (await ws.recv(within=5)) == {"type": "unsubscribed", "channel": f"door:{session['id']}"}
    assert (await ws.recv())["code"] == "token_revoked"
    await ws.send({"type": "auth", "token": token})
    assert (await ws.recv())["code"] == "invalid_token"
    await ws.close()
    assert await status_everywhere(servers, token) == [401, 401]
    device = Api(server.url, token)
    refused = await device.http.get("/api/auth/me")
    await device.close()
    assert refused.json()["error"]["code"] == "token_revoked"


async def test_a_users_tokens_are_revoked_and_a_new_sign_in_works(
    server: ServerProcess, second_server: ServerProcess, admin: Api
) -> None:
    username = f"steward-{uuid.uuid4().hex[:6]}"
    user = await admin.http.post(
        "/api/users",
        json={"username": username, "password": "steward-pass", "roles": ["entry_check"]},
    )
    credentials = {"username": username, "password": "steward-pass"}
    old = (await admin.http.post("/api/auth/login", json=credentials)).json()["token"]
    servers = [server, second_server]
    assert await status_everywhere(servers, old) == [200, 200]
    r = await admin.http.post(f"/api/users/{user.json()['id']}/revoke-tokens")
    assert r.status_code == 200
    assert await status_everywhere(servers, old) == [401, 401]
    new = (await admin.http.post("/api/auth/login", json=credentials)).json()["token"]
    assert await status_everywhere(servers, new) == [200, 200]
    assert (await admin.http.post("/api/users/999999999/revoke-tokens")).status_code == 404
