"""Failed sign-ins are limited per username and per address, across processes, with a
clear answer; a right password does not get through a locked account either."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.support import STAFF_PASSWORD, Api, ServerProcess


@pytest.fixture(scope="module")
def limited(server: ServerProcess) -> Iterator[ServerProcess]:
    """A server with small limits (the suite's servers have none to speak of)."""
    proc = ServerProcess(
        {
            "GUICHET_SIGNIN_USER_LIMIT": "3",
            "GUICHET_SIGNIN_ADDRESS_LIMIT": "6",
            "GUICHET_SIGNIN_WINDOW_S": "60",
        }
    )
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


def address() -> str:
    """An address of its own (uvicorn trusts X-Forwarded-For from 127.0.0.1, as behind a
    proxy), so each test starts with no failures counted."""
    return f"10.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250}"


async def new_user(admin: Api) -> str:
    username = f"t-{uuid.uuid4().hex[:10]}"
    r = await admin.http.post(
        "/api/users", json={"username": username, "password": STAFF_PASSWORD, "roles": ["stats"]}
    )
    assert r.status_code == 201
    return username


async def attempt(http: httpx.AsyncClient, username: str, password: str, at: str) -> httpx.Response:
    return await http.post(
        "/api/auth/session",
        json={"username": username, "password": password},
        headers={"X-Forwarded-For": at},
    )


async def test_a_user_is_locked_after_the_limit_and_told_how_long(
    limited: ServerProcess, admin: Api
) -> None:
    username = await new_user(admin)
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as http:
        for _ in range(3):
            r = await attempt(http, username, "wrong-password", address())
            assert r.json()["error"]["code"] == "bad_credentials"
        locked = await attempt(http, username, STAFF_PASSWORD, address())
    assert locked.status_code == 429
    error = locked.json()["error"]
    assert error["code"] == "too_many_attempts" and 0 < error["retry_after"] <= 60
    assert locked.headers["retry-after"] == str(error["retry_after"])


async def test_the_lock_holds_on_every_process(
    limited: ServerProcess, second_server: ServerProcess, admin: Api
) -> None:
    """Counted in Redis: failures on one process lock the user on another (which has the
    default limit of 100000: only the count is shared, so it is checked on ``limited``)."""
    username = await new_user(admin)
    async with httpx.AsyncClient(base_url=second_server.url, timeout=30) as other:
        for _ in range(3):
            await attempt(other, username, "wrong-password", address())
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as http:
        assert (await attempt(http, username, STAFF_PASSWORD, address())).status_code == 429


async def test_an_address_is_limited_whatever_the_usernames_and_a_success_clears_a_user(
    limited: ServerProcess, admin: Api
) -> None:
    at = address()
    username = await new_user(admin)
    async with httpx.AsyncClient(base_url=limited.url, timeout=30) as http:
        for _ in range(2):
            await attempt(http, username, "wrong-password", at)
        assert (await attempt(http, username, STAFF_PASSWORD, at)).status_code == 200
        for _ in range(2):  # the user's count starts again: 2 more are not a lock
            assert (await attempt(http, username, "wrong", at)).status_code == 401
        for n in range(2):  # but the address has 6 failures now
            await attempt(http, f"nobody-{n}", "wrong-password", at)
        refused = await attempt(http, await new_user(admin), STAFF_PASSWORD, at)
        elsewhere = await attempt(http, username, STAFF_PASSWORD, address())
    assert refused.status_code == 429
    assert elsewhere.status_code == 200
