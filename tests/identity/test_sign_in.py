"""Signing in: argon2 runs off the event loop, so other requests are served meanwhile; an
unknown user and a wrong password get the same answer."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
from argon2 import PasswordHasher

from tests import support
from tests.static.staff_pages import new_staff
from tests.support import Api, ServerProcess


async def with_standard_hash(user_id: int, password: str) -> None:
    """Give the user a hash of production cost: the suite's servers hash new passwords with
    argon2's cheapest parameters (``GUICHET_PASSWORD_HASH``), and a hash carries its own."""
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        digest = await asyncio.to_thread(PasswordHasher().hash, password)
        await conn.execute("UPDATE users SET password_hash = $1 WHERE id = $2", digest, user_id)
    finally:
        await conn.close()


async def test_other_requests_are_served_while_passwords_are_checked(
    server: ServerProcess, admin: Api
) -> None:
    user = await new_staff(admin, "pos")
    await with_standard_hash(int(user["id"]), user["password"])
    finished: list[str] = []
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:

        async def sign_in(n: int) -> None:
            r = await http.post(
                "/api/auth/login", json={"username": user["username"], "password": user["password"]}
            )
            assert r.status_code == 200, r.text
            finished.append(f"sign-in {n}")

        async def health() -> None:
            await asyncio.sleep(0.02)  # sent once the sign-ins are being checked
            r = await http.get("/healthz")
            assert r.status_code == 200
            finished.append("health")

        await asyncio.gather(*(sign_in(n) for n in range(6)), health())
    # An argon2 check of production cost takes about 0.1 s of CPU: on the event loop the
    # health check would wait for at least the first one.
    assert finished[0] == "health", finished


async def test_unknown_user_and_wrong_password_get_the_same_answer(server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        unknown = await http.post("/api/auth/login", json={"username": "nobody", "password": "x"})
        wrong = await http.post("/api/auth/login", json={"username": "admin", "password": "x"})
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.json() == wrong.json()
