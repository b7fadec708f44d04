"""Signing in: argon2 runs off the event loop, so other requests are served meanwhile; an
unknown user and a wrong password get the same answer."""

from __future__ import annotations

import asyncio

import httpx

from tests.conftest import ADMIN_PASSWORD
from tests.support import ServerProcess


async def test_other_requests_are_served_while_passwords_are_checked(
    server: ServerProcess,
) -> None:
    finished: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

        async def sign_in(n: int) -> None:
            r = await http.post(
                "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
            )
            assert r.status_code == 200
            finished.append(f"sign-in {n}")

        async def health() -> None:
            await asyncio.sleep(0.02)  # sent once the sign-ins are being checked
            r = await http.get("/healthz")
            assert r.status_code == 200
            finished.append("health")

        await asyncio.gather(*(sign_in(n) for n in range(6)), health())
    # An argon2 check takes a quarter of a second of CPU: on the event loop the health
    # check would wait for at least the first one.
    assert finished[0] == "health", finished


async def test_unknown_user_and_wrong_password_get_the_same_answer(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        unknown = await http.post("/api/auth/login", json={"username": "nobody", "password": "x"})
        wrong = await http.post("/api/auth/login", json={"username": "admin", "password": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
