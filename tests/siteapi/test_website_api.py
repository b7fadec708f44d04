"""The website API: API keys made, listed and revoked by an admin only (shown once,
audited); CORS for exactly the key's origins; a rate limit that two server processes on
the same Redis share; the read endpoints and the cart calls, with their schemas in
/openapi.json."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import httpx

from tests.payments.support import db
from tests.shop.helpers import online_pass_type
from tests.support import Api, ServerProcess, sold_in_postgres, staff_token

SITE = "https://festival.example"
OTHER = "https://elsewhere.example"


async def new_key(admin: Api, rate: int = 600, origins: list[str] | None = None) -> dict[str, Any]:
    r = await admin.http.post(
        "/api/api-keys",
        json={
            "name": f"site {uuid.uuid4().hex[:6]}",
            "origins": [SITE] if origins is None else origins,
            "rate_per_minute": rate,
        },
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def public(server: ServerProcess, key: str | None, origin: str | None = None) -> httpx.AsyncClient:
    headers = {"X-Api-Key": key} if key else {}
    if origin:
        headers["Origin"] = origin
    return httpx.AsyncClient(base_url=server.url + "/api/public/v1", headers=headers, timeout=30)


async def test_only_an_admin_makes_lists_and_revokes_keys_and_each_is_audited(
    server: ServerProcess, admin: Api
) -> None:
    created = await new_key(admin, origins=["HTTPS://Festival.Example/"])
    assert created["key"].startswith("gk_") and created["prefix"] == created["key"][:8]
    assert created["origins"] == [SITE]  # as browsers send Origin
    listed = (await admin.http.get("/api/api-keys")).json()["keys"]
    mine = next(k for k in listed if k["id"] == created["id"])
    assert "key" not in mine and mine["revoked_at"] is None
    conn = await db()
    try:
        stored = await conn.fetchval("SELECT key_hash FROM api_keys WHERE id = $1", created["id"])
        actions = await conn.fetch(
            "SELECT action FROM audit_log WHERE subject = $1 ORDER BY id",
            f"api_key:{created['id']}",
        )
    finally:
        await conn.close()
    assert created["key"].encode() not in bytes(stored)  # only its hash is kept
    assert [a["action"] for a in actions] == ["api_key.create"]

    cashier = Api(server.url, await staff_token(admin, "pos"))
    anonymous = Api(server.url)
    try:
        for caller, status in ((cashier, 403), (anonymous, 401)):
            r = await caller.http.post("/api/api-keys", json={"name": "x", "origins": []})
            assert r.status_code == status
            assert (await caller.http.get("/api/api-keys")).status_code == status
            r = await caller.http.post(f"/api/api-keys/{created['id']}/revoke")
            assert r.status_code == status
    finally:
        await cashier.close()
        await anonymous.close()

    async with public(server, created["key"]) as http:
        assert (await http.get("/events")).status_code == 200
        r = await admin.http.post(f"/api/api-keys/{created['id']}/revoke")
        assert r.status_code == 200 and r.json()["revoked_at"] is not None
        r = await http.get("/events")
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_api_key")
    r = await admin.http.post(f"/api/api-keys/{created['id']}/revoke")
    assert (r.status_code, r.json()["error"]["code"]) == (409, "already_revoked")
    conn = await db()
    try:
        n = await conn.fetchval(
            "SELECT count(*) FROM audit_log WHERE subject = $1 AND action = 'api_key.revoke'",
            f"api_key:{created['id']}",
        )
    finally:
        await conn.close()
    assert n == 1


async def test_bad_keys_and_bad_origins_are_refused(server: ServerProcess, admin: Api) -> None:
    for origins in (["*"], ["https://site.example/path"], ["null"], ["ftp://x.example"]):
        r = await admin.http.post("/api/api-keys", json={"name": "x", "origins": origins})
        assert r.status_code == 400, (origins, r.text)
    async with public(server, None) as http:
        r = await http.get("/sessions")
        assert (r.status_code, r.json()["error"]["code"]) == (401, "api_key_required")
    async with public(server, "gk_" + "x" * 43) as http:
        r = await http.get("/sessions")
        assert (r.status_code, r.json()["error"]["code"]) == (401, "invalid_api_key")


async def test_cors_answers_only_the_keys_origins(server: ServerProcess, admin: Api) -> None:
    key = (await new_key(admin))["key"]
    async with public(server, key, SITE) as http:
        r = await http.get("/events")
        assert r.status_code == 200
        assert r.headers["access-control-allow-origin"] == SITE
        assert "Origin" in r.headers["vary"]
        assert "access-control-allow-credentials" not in r.headers
    async with public(server, key, OTHER) as http:
        r = await http.get("/events")
        assert (r.status_code, r.json()["error"]["code"]) == (403, "origin_not_allowed")
        assert "access-control-allow-origin" not in r.headers
    async with public(server, key) as http:  # a server, not a browser: no Origin
        assert (await http.get("/events")).status_code == 200

    async with httpx.AsyncClient(base_url=server.url) as http:
        preflight = {
            "Origin": SITE,
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "x-api-key, content-type",
        }
        r = await http.options("/api/public/v1/sessions/1/holds", headers=preflight)
        assert r.status_code == 204
        assert r.headers["access-control-allow-origin"] == SITE
        assert "X-Api-Key" in r.headers["access-control-allow-headers"]
        assert "POST" in r.headers["access-control-allow-methods"]
        assert "Origin" in r.headers["vary"]
        r = await http.options(
            "/api/public/v1/sessions/1/holds", headers={**preflight, "Origin": OTHER}
        )
        assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
        r = await http.options(
            "/api/public/v1/events",
            headers={**preflight, "Access-Control-Request-Method": "PATCH"},
        )
        assert r.status_code == 403  # no website call patches


async def test_the_rate_limit_is_one_count_across_two_server_processes(
    server: ServerProcess, second_server: ServerProcess, admin: Api
) -> None:
    created = await new_key(admin, rate=5)
    async with public(server, created["key"]) as one, public(second_server, created["key"]) as two:
        answers = []
        for http in (one, two, one, two, one):
            r = await http.get("/events")
            answers.append(r.status_code)
            assert r.headers["x-ratelimit-limit"] == "5"
        assert answers == [200] * 5
        for http in (two, one):
            r = await http.get("/events")
            assert r.status_code == 429
            assert r.json()["error"]["code"] == "rate_limited"
            assert 1 <= int(r.headers["retry-after"]) <= 60
    other = await new_key(admin, rate=5)  # another key has its own budget
    async with public(second_server, other["key"]) as http:
        assert (await http.get("/events")).status_code == 200


async def test_sessions_tariffs_and_the_cart_with_live_availability(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=30)
    key = (await new_key(admin))["key"]
    async with public(server, key, SITE) as http:
        r = await http.get(f"/sessions/{s.id}")
        assert r.status_code == 200, r.text
        before = r.json()
        assert before["availability"]["free"] == 30 and before["on_sale"] is True
        assert [t["name"] for t in before["tariffs"]] == ["Full", "Reduced"]
        assert before["shop_url"].endswith(f"/#/session/{s.id}")

        r = await http.post(f"/sessions/{s.id}/holds", json={"seats": s.seat_ids[:2]})
        assert r.status_code == 200, r.text
        token = r.json()["token"]
        cart = (await http.get(f"/sessions/{s.id}/holds/{token}")).json()
        assert cart["seats"] == s.seat_ids[:2]
        after = (await http.get(f"/sessions/{s.id}")).json()["availability"]
        assert (after["held"], after["free"]) == (2, 28)
        assert after["seq"] > before["availability"]["seq"]

        tariffs = (await http.get(f"/sessions/{s.id}/tariffs")).json()
        assert tariffs["session_id"] == s.id and len(tariffs["tariffs"]) == 2
        listed = (await http.get("/sessions", params={"limit": 500})).json()["sessions"]
        assert any(x["id"] == s.id and x["availability"]["held"] == 2 for x in listed)
        events = (await http.get("/events")).json()["events"]
        assert any(s.id in e["session_ids"] for e in events)

        r = await http.delete(f"/sessions/{s.id}/holds/{token}")
        assert r.status_code == 200
        await asyncio.sleep(0)
        assert (await http.get(f"/sessions/{s.id}")).json()["availability"]["free"] == 30


async def test_the_public_operations_are_documented_with_their_schemas(
    server: ServerProcess,
) -> None:
    async with httpx.AsyncClient() as http:
        document = (await http.get(server.url + "/openapi.json")).json()
    public_paths = {p: ms for p, ms in document["paths"].items() if p.startswith("/api/public/v1")}
    assert len(public_paths) >= 5
    for path, methods in public_paths.items():
        for method, op in methods.items():
            assert op["security"] == [{"apiKey": []}, {"apiKeyQuery": []}], (method, path)
            ok = next(c for s, c in op["responses"].items() if s.startswith("2"))
            assert "$ref" in ok["content"]["application/json"]["schema"], (method, path)
            for status in ("401", "403", "429"):
                assert status in op["responses"], (method, path, status)
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "X-Api-Key"


async def test_a_website_fills_a_cart_of_two_sessions_and_a_pass_and_checks_it_out(
    server: ServerProcess, admin: Api
) -> None:
    """The shop's cart through the website API (its key, from its page's origin): seats of
    two sessions and a pass, one countdown, the checkout as one order (this server sells
    unpaid, so it is confirmed at once); another cart abandoned gives its seats back."""
    first, second = await admin.create_session(n_seats=10), await admin.create_session(n_seats=10)
    pass_type = await online_pass_type(admin)
    key = (await new_key(admin))["key"]
    async with httpx.AsyncClient(base_url=server.url) as http:
        preflight = {"Origin": SITE, "Access-Control-Request-Method": "PUT"}
        r = await http.options("/api/public/v1/carts/x/sessions/1", headers=preflight)
        assert r.status_code == 204 and "PUT" in r.headers["access-control-allow-methods"]
    async with public(server, key, SITE) as http:
        offers = await http.get("/shop/offers")
        assert offers.status_code == 200, offers.text
        assert pass_type["id"] in [p["id"] for p in offers.json()["pass_types"]]
        r = await http.post("/carts", json={})
        assert r.status_code == 201, r.text
        assert r.headers["access-control-allow-origin"] == SITE
        cart = r.json()["id"]
        for s, seats in ((first, first.seat_ids[:2]), (second, second.seat_ids[3:4])):
            held = await http.post(f"/sessions/{s.id}/holds", json={"seats": seats})
            assert held.status_code == 200, held.text
            items = [{"seat": seat, "tariff_id": s.tariff_ids[0]} for seat in seats]
            body = {"hold_token": held.json()["token"], "items": items}
            r = await http.put(f"/carts/{cart}/sessions/{s.id}", json=body)
            assert r.status_code == 200, r.text
        holder = {"holder_first_name": "Ada", "holder_last_name": "King"}
        r = await http.post(
            f"/carts/{cart}/passes", json={"pass_type_id": pass_type["id"], **holder}
        )
        assert r.status_code == 200, r.text
        view = (await http.get(f"/carts/{cart}")).json()
        assert sorted(x["session_id"] for x in view["sessions"]) == sorted([first.id, second.id])
        assert len(view["passes"]) == 1 and view["status"] == "open"
        buyer = {"name": "Ada King", "email": "ada@example.org"}
        r = await http.post(
            f"/carts/{cart}/checkout", json={"idempotency_key": uuid.uuid4().hex, "buyer": buyer}
        )
        assert r.status_code == 201, r.text
        assert r.json()["status"] == "confirmed" and r.json()["tickets"] == 3
        assert await sold_in_postgres(first.id) == {0, 1}
        assert await sold_in_postgres(second.id) == {3}

        other = (await http.post("/carts", json={})).json()["id"]
        held = await http.post(f"/sessions/{first.id}/holds", json={"seats": first.seat_ids[5:6]})
        items = [{"seat": first.seat_ids[5], "tariff_id": first.tariff_ids[0]}]
        body = {"hold_token": held.json()["token"], "items": items}
        assert (await http.put(f"/carts/{other}/sessions/{first.id}", json=body)).status_code == 200
        assert (await http.get(f"/sessions/{first.id}")).json()["availability"]["held"] == 1
        assert (await http.delete(f"/carts/{other}")).status_code == 200
        assert (await http.get(f"/sessions/{first.id}")).json()["availability"]["held"] == 0
    async with public(server, None, SITE) as http:
        r = await http.post("/carts", json={})
        assert (r.status_code, r.json()["error"]["code"]) == (401, "api_key_required")
