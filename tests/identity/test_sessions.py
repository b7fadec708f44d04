"""Staff sessions: a cookie for pages, CSRF on what changes state, sign-out, disabled users
and password changes that end sessions on every process, at once."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import httpx
import pytest
import websockets

from tests.support import STAFF_PASSWORD, Api, ServerProcess, WsClient

pytestmark = pytest.mark.usefixtures("server")


async def new_user(admin: Api, *roles: str) -> tuple[int, str]:
    username = f"s-{uuid.uuid4().hex[:10]}"
    r = await admin.http.post(
        "/api/users", json={"username": username, "password": STAFF_PASSWORD, "roles": roles}
    )
    assert r.status_code == 201, r.text
    return r.json()["id"], username


async def signed_in(url: str, username: str, password: str = STAFF_PASSWORD) -> httpx.AsyncClient:
    """A browser-like client holding the session cookie, with the CSRF token at hand."""
    http = httpx.AsyncClient(base_url=url, timeout=30)
    r = await http.post("/api/auth/session", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    http.headers["X-CSRF-Token"] = r.json()["csrf"]
    return http


@pytest.fixture
async def admin_page(server: ServerProcess, admin: Api) -> AsyncIterator[httpx.AsyncClient]:
    _, username = await new_user(admin, "admin")
    http = await signed_in(server.url, username)
    yield http
    await http.aclose()


async def test_a_session_cookie_is_httponly_and_strict_and_me_tells_who_and_the_csrf(
    server: ServerProcess, admin: Api
) -> None:
    user_id, username = await new_user(admin, "pos", "stats")
    async with httpx.AsyncClient(base_url=server.url) as http:
        r = await http.post(
            "/api/auth/session", json={"username": username, "password": STAFF_PASSWORD}
        )
        assert r.status_code == 200
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
        me = (await http.get("/api/auth/me")).json()
    assert me["id"] == user_id and me["via"] == "cookie" and me["csrf"] == r.json()["csrf"]
    assert set(me["permissions"]) == {"sell", "reserve", "stats.read"}
    assert r.json()["user"]["roles"] == ["pos", "stats"]


async def test_a_change_with_the_cookie_needs_the_csrf_token(
    admin_page: httpx.AsyncClient,
) -> None:
    csrf = admin_page.headers.pop("X-CSRF-Token")
    missing = await admin_page.post("/api/venues", json={"name": "Forged"})
    wrong = await admin_page.post(
        "/api/venues", json={"name": "Forged"}, headers={"X-CSRF-Token": csrf[:-2] + "xx"}
    )
    right = await admin_page.post(
        "/api/venues", json={"name": "Real"}, headers={"X-CSRF-Token": csrf}
    )
    assert (missing.status_code, missing.json()["error"]["code"]) == (403, "csrf_required")
    assert (wrong.status_code, wrong.json()["error"]["code"]) == (403, "csrf_failed")
    assert right.status_code == 201
    venues = (await admin_page.get("/api/venues", params={"limit": 500})).json()
    assert "Forged" not in [v["name"] for v in venues["venues"]]


async def test_a_public_request_without_the_header_is_served_as_anonymous(
    server: ServerProcess, admin: Api
) -> None:
    """A page of another site can make the browser send the cookie, not the header: its
    sign-out is a stranger's (the cookie is cleared, the session lives on), and the shop
    keeps working for a signed-in member of staff."""
    _, username = await new_user(admin, "stats")
    http = await signed_in(server.url, username)
    cookie = http.cookies.get("guichet_session") or ""
    del http.headers["X-CSRF-Token"]
    try:
        assert (await http.delete("/api/auth/session")).status_code == 200
        async with httpx.AsyncClient(
            base_url=server.url, cookies={"guichet_session": cookie}
        ) as again:
            assert (await again.get("/api/auth/me")).json()["username"] == username
    finally:
        await http.aclose()


async def cookie_ws(server: ServerProcess, cookie: str, origin: str | None = None) -> WsClient:
    ws = await websockets.connect(
        server.ws_url,
        subprotocols=["guichet.json"],  # type: ignore[list-item]
        additional_headers={
            "Cookie": f"guichet_session={cookie}",
            "Origin": origin or server.url,
        },
    )
    return WsClient(ws)


async def test_sign_out_ends_the_session_on_every_process(
    server: ServerProcess, second_server: ServerProcess, admin: Api
) -> None:
    _, username = await new_user(admin, "stats")
    http = await signed_in(server.url, username)
    cookie = http.cookies.get("guichet_session") or ""
    ws = await cookie_ws(second_server, cookie)
    try:
        await ws.send({"type": "auth", "id": 1})
        assert (await ws.until(lambda m: m.get("id") == 1 or m["type"] == "authenticated"))[
            "type"
        ] == "authenticated"
        r = await http.delete("/api/auth/session")
        assert r.status_code == 200 and 'guichet_session=""' in r.headers["set-cookie"]
        revoked = await ws.until(lambda m: m["type"] == "error")
        assert revoked["code"] == "token_revoked"
        async with httpx.AsyncClient(
            base_url=second_server.url, cookies={"guichet_session": cookie}
        ) as other:
            again = await other.get("/api/door/keys")
            me = (await other.get("/api/auth/me")).json()
        assert (again.status_code, again.json()["error"]["code"]) == (401, "token_revoked")
        assert me["id"] is None
    finally:
        await ws.close()
        await http.aclose()


async def test_a_websocket_takes_the_cookie_of_its_own_origin_only(
    server: ServerProcess, admin: Api
) -> None:
    _, username = await new_user(admin, "stats")
    http = await signed_in(server.url, username)
    cookie = http.cookies.get("guichet_session") or ""
    page = await cookie_ws(server, cookie)
    foreign = await cookie_ws(server, cookie, origin="http://evil.example")
    try:
        await page.send({"type": "auth", "id": 1})
        assert (await page.until(lambda m: m["type"] in ("authenticated", "error")))[
            "type"
        ] == "authenticated"
        await foreign.send({"type": "auth", "id": 1})
        refused = await foreign.until(lambda m: m["type"] == "error")
        assert refused["code"] == "no_session"
    finally:
        await page.close()
        await foreign.close()
        await http.aclose()


async def test_a_disabled_user_is_refused_at_once_everywhere(
    server: ServerProcess, second_server: ServerProcess, admin: Api
) -> None:
    user_id, username = await new_user(admin, "stats")
    http = await signed_in(server.url, username)
    ws = await cookie_ws(second_server, http.cookies.get("guichet_session") or "")
    try:
        await ws.send({"type": "auth", "id": 1})
        await ws.until(lambda m: m["type"] == "authenticated")
        r = await admin.http.post(f"/api/users/{user_id}/disable")
        assert r.status_code == 200 and r.json()["disabled"] is True
        assert (await ws.until(lambda m: m["type"] == "error"))["code"] == "token_revoked"
        refused = await http.get("/api/sessions/1/entries")
        assert (refused.status_code, refused.json()["error"]["code"]) == (401, "token_revoked")
        again = await http.post(
            "/api/auth/session", json={"username": username, "password": STAFF_PASSWORD}
        )
        assert (again.status_code, again.json()["error"]["code"]) == (403, "user_disabled")
        wrong = await http.post(
            "/api/auth/session", json={"username": username, "password": "not-the-password"}
        )
        assert wrong.json()["error"]["code"] == "bad_credentials"  # disabled is no hint
        assert (await admin.http.post(f"/api/users/{user_id}/enable")).status_code == 200
        back = await http.post(
            "/api/auth/session", json={"username": username, "password": STAFF_PASSWORD}
        )
        assert back.status_code == 200
    finally:
        await ws.close()
        await http.aclose()


async def test_a_password_change_ends_every_other_session_and_keeps_this_page(
    server: ServerProcess, admin: Api
) -> None:
    _, username = await new_user(admin, "stats")
    page = await signed_in(server.url, username)
    elsewhere = await signed_in(server.url, username)
    try:
        weak = await page.post("/api/auth/password", json={"current": STAFF_PASSWORD, "new": "x"})
        assert weak.json()["error"]["code"] == "weak_password"
        wrong = await page.post(
            "/api/auth/password", json={"current": "not-it-at-all", "new": "a-new-password"}
        )
        assert wrong.json()["error"]["code"] == "bad_credentials"
        r = await page.post(
            "/api/auth/password", json={"current": STAFF_PASSWORD, "new": "a-new-password"}
        )
        assert r.status_code == 200, r.text
        page.headers["X-CSRF-Token"] = r.json()["csrf"]
        assert (await page.get("/api/auth/me")).json()["username"] == username
        assert (await elsewhere.get("/api/auth/me")).json()["id"] is None
        old = await page.post(
            "/api/auth/session", json={"username": username, "password": STAFF_PASSWORD}
        )
        assert old.status_code == 401
    finally:
        await page.aclose()
        await elsewhere.aclose()
