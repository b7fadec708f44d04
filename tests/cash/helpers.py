"""Helpers of the cash desk tests: a register, a cashier, desk sales."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests import support
from tests.support import Api

FLOAT = {"2000": 2, "500": 2, "100": 5}  # 50.00 + 5.00 = 55.00 in notes and coins
FLOAT_CENTS = 5500


async def new_register(admin: Api, currency: str = "EUR") -> int:
    desk = {"name": f"Desk {uuid.uuid4().hex[:8]}", "kind": "desk"}
    r = await admin.http.post("/api/points-of-sale", json=desk)
    assert r.status_code == 201, r.text
    body = {"point_of_sale_id": r.json()["id"], "name": "Till 1", "currency": currency}
    r = await admin.http.post("/api/registers", json=body)
    assert r.status_code == 201, r.text
    register_id: int = r.json()["id"]
    return register_id


async def cashier(admin: Api, server: support.ServerProcess, *roles: str) -> Api:
    return Api(server.url, await support.staff_token(admin, *(roles or ("pos",))))


async def open_session(api: Api, register_id: int, counted: dict[str, int] = FLOAT) -> int:
    r = await api.http.post(f"/api/registers/{register_id}/sessions", json={"counted": counted})
    assert r.status_code == 201, r.text
    session_id: int = r.json()["id"]
    return session_id


async def desk_sale(
    api: Api,
    session: support.SessionInfo,
    register_session_id: int,
    seats: list[str],
    payments: list[dict[str, Any]] | None = None,
    tariff: int = 0,
) -> Any:
    """Hold ``seats`` and buy them at the desk (paid in cash, exact, unless told)."""
    hold = await api.hold(session.id, seats)
    assert hold.status_code == 200, hold.text
    price = session.detail["tariffs"][tariff]["price_cents"]
    body = {
        "hold_token": hold.json()["token"],
        "idempotency_key": uuid.uuid4().hex,
        "items": [{"seat": s, "tariff_id": session.tariff_ids[tariff]} for s in seats],
        "register_session_id": register_session_id,
        "payments": payments or [{"method": "cash", "amount_cents": price * len(seats)}],
    }
    return await api.http.post(f"/api/sessions/{session.id}/orders", json=body)


async def db() -> asyncpg.Connection:
    return await asyncpg.connect(support.testing_database_url())


async def verify(register_id: int) -> Any:
    from server.cash.journal import verify_register

    conn = await db()
    try:
        return await verify_register(conn, register_id)
    finally:
        await conn.close()
