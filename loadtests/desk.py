"""The cash desk under load: 20 registers, each with its cashier, sell at once; every sale
is an order plus its journal entry (receipt number from the register's row, lines with the
tax snapshot, payments, the hash chain) in one Postgres transaction.

The holds are made first, untimed (as in the orders benchmark); what is timed is the sale:
``POST /api/sessions/{id}/orders`` with ``register_session_id`` and a cash payment. Checked
afterwards: every register's receipts are gap-free and its chain verifies."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import asyncpg
import httpx

from loadtests import env
from loadtests.httpclient import HttpConnection
from server.cash.journal import verify_register

REGISTERS = 20
SEATS_PER_SALE = 2
PRICE_CENTS = 1500  # the bench session's one tariff
PASSWORD = "bench-cashier-password"


async def _cashier(http: httpx.AsyncClient, point_of_sale: int, n: int) -> dict[str, Any]:
    """A register, its cashier signed in (a bearer token), an open register session."""
    name = f"bench-{n}-{uuid.uuid4().hex[:6]}"
    register = await http.post(
        "/api/registers", json={"point_of_sale_id": point_of_sale, "name": name}
    )
    register.raise_for_status()
    user = {"username": name, "password": PASSWORD, "roles": ["pos"]}
    (await http.post("/api/users", json=user)).raise_for_status()
    async with httpx.AsyncClient(base_url=str(http.base_url), timeout=60) as anon:
        login = await anon.post("/api/auth/login", json={"username": name, "password": PASSWORD})
        login.raise_for_status()
        token = login.json()["token"]
        opened = await anon.post(
            f"/api/registers/{register.json()['id']}/sessions",
            json={"counted": {"2000": 5}},
            headers={"Authorization": f"Bearer {token}"},
        )
        opened.raise_for_status()
    return {"token": token, "register": register.json()["id"], "session": opened.json()["id"]}


async def _setup(base_url: str, token: str) -> list[dict[str, Any]]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        pos = await http.post(
            "/api/points-of-sale", json={"name": f"Bench desk {uuid.uuid4().hex[:6]}"}
        )
        pos.raise_for_status()
        point = pos.json()["id"]
        return list(await asyncio.gather(*(_cashier(http, point, n) for n in range(REGISTERS))))


async def _hold(conn: HttpConnection, session_id: int, groups: list[list[str]]) -> list[Any]:
    held = []
    for seats in groups:
        status, body = await conn.post_json(f"/api/sessions/{session_id}/holds", {"seats": seats})
        if status == 200:
            held.append((body["token"], seats))
    return held


async def _sell(
    conn: HttpConnection,
    cashier: dict[str, Any],
    session: env.BenchSession,
    held: list[Any],
    latencies: list[float],
) -> int:
    sold = 0
    for token, seats in held:
        order = {
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"seat": s, "tariff_id": session.tariff_ids[0]} for s in seats],
            "register_session_id": cashier["session"],
            "payments": [{"method": "cash", "amount_cents": PRICE_CENTS * len(seats)}],
        }
        started = time.perf_counter()
        status, _ = await conn.post_json(f"/api/sessions/{session.id}/orders", order)
        latencies.append((time.perf_counter() - started) * 1000)
        sold += status == 201
    return sold


async def _journals_consistent(registers: list[int]) -> bool:
    """Every register's receipts are 1..n without a gap and its chain verifies."""
    conn = await asyncpg.connect(env.database_url())
    try:
        for register in registers:
            receipts = [
                r["receipt_no"]
                for r in await conn.fetch(
                    "SELECT receipt_no FROM journal WHERE register_id = $1 ORDER BY receipt_no",
                    register,
                )
            ]
            if receipts != list(range(1, len(receipts) + 1)):
                return False
            if await verify_register(conn, register) is not None:
                return False
    finally:
        await conn.close()
    return True


async def _run(
    server: env.Server, token: str, session: env.BenchSession, sales: int
) -> dict[str, Any]:
    cashiers = await _setup(server.url, token)
    per_register = sales // REGISTERS
    conns = [
        await HttpConnection.open(
            "127.0.0.1", server.port, {"Authorization": f"Bearer {c['token']}"}
        )
        for c in cashiers
    ]
    try:
        width = per_register * SEATS_PER_SALE
        helds = await asyncio.gather(
            *(
                _hold(
                    conn,
                    session.id,
                    [
                        session.seat_ids[n * width + i : n * width + i + SEATS_PER_SALE]
                        for i in range(0, width, SEATS_PER_SALE)
                    ],
                )
                for n, conn in enumerate(conns)
            )
        )
        latencies: list[float] = []
        started = time.perf_counter()
        sold = sum(
            await asyncio.gather(
                *(
                    _sell(conn, cashier, session, held, latencies)
                    for conn, cashier, held in zip(conns, cashiers, helds, strict=True)
                )
            )
        )
        elapsed = time.perf_counter() - started
    finally:
        for conn in conns:
            conn.close()
    latencies.sort()
    return {
        "desk_registers": REGISTERS,
        "desk_sales": sold,
        "desk_sales_per_s": round(sold / elapsed, 1),
        "desk_p50_ms": round(latencies[len(latencies) // 2], 1),
        "desk_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "desk_journal_consistent": await _journals_consistent([c["register"] for c in cashiers]),
    }


def bench_desk(
    server: env.Server, token: str, session: env.BenchSession, sales: int
) -> dict[str, Any]:
    return asyncio.run(_run(server, token, session, sales))
