"""Wallet debits under load: 20 bars, each with its waiter on one keep-alive connection,
debit the wallets of many passes at once; then the same 20 bars hammer one wallet.

Timed: ``POST /api/wallets/debits`` (the journal entry at the bar's register and the
ledger transaction, in one Postgres transaction). The wallets are topped up first,
untimed. Checked afterwards: the ledger adds up to zero, every kept balance is its
ledger's sum, and the hammered wallet admitted exactly what its balance covered and never
went below zero."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from loadtests import env
from loadtests.httpclient import HttpConnection
from server.wallet.ledger import drifted_accounts, sum_of_balances

BARS = 20
WALLETS = 100
PRICE = 100
HAMMER_BALANCE = 5_000  # covers 50 debits of PRICE
HAMMER_PER_BAR = 10
PASSWORD = "bench-bar-password"


async def _user(http: httpx.AsyncClient, role: str) -> str:
    name = f"bench-{role}-{uuid.uuid4().hex[:8]}"
    user = {
        "username": name,
        "password": PASSWORD,
        "roles": [role] if role != "pos" else ["pos", "wallet_manager"],
    }
    (await http.post("/api/users", json=user)).raise_for_status()
    login = await http.post("/api/auth/login", json={"username": name, "password": PASSWORD})
    login.raise_for_status()
    return str(login.json()["token"])


async def _bar(http: httpx.AsyncClient, n: int) -> int:
    pos = await http.post(
        "/api/points-of-sale", json={"name": f"Bench bar {n} {uuid.uuid4().hex[:6]}", "kind": "bar"}
    )
    pos.raise_for_status()
    register = await http.post(
        "/api/registers", json={"point_of_sale_id": pos.json()["id"], "name": "Bar"}
    )
    register.raise_for_status()
    return int(register.json()["id"])


async def _wallet(
    http: httpx.AsyncClient, manager: dict[str, str], session: int, amount: int
) -> str:
    now = datetime.now(UTC)
    holder = {
        "holder_name": "Bench holder",
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
        "all_sessions": True,
    }
    created = await http.post("/api/passes", json=holder)
    created.raise_for_status()
    code = (await http.get(f"/api/passes/{created.json()['id']}/code")).text
    top_up = {
        "idempotency_key": uuid.uuid4().hex,
        "code": code,
        "amount_cents": amount,
        "method": "card",
        "register_session_id": session,
    }
    (await http.post("/api/wallets/top-ups", json=top_up, headers=manager)).raise_for_status()
    return code


async def _setup(base_url: str, token: str) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        manager = {"Authorization": f"Bearer {await _user(http, 'pos')}"}
        desk = await http.post(
            "/api/points-of-sale", json={"name": f"Bench top-ups {uuid.uuid4().hex[:6]}"}
        )
        desk.raise_for_status()
        till = await http.post(
            "/api/registers", json={"point_of_sale_id": desk.json()["id"], "name": "Till"}
        )
        till.raise_for_status()
        opened = await http.post(
            f"/api/registers/{till.json()['id']}/sessions", json={"counted": {}}, headers=manager
        )
        opened.raise_for_status()
        session = opened.json()["id"]
        bars = [await _bar(http, n) for n in range(BARS)]
        waiters = list(await asyncio.gather(*(_user(http, "waiter") for _ in range(BARS))))
        codes = []
        for _ in range(WALLETS):
            codes.append(await _wallet(http, manager, session, 1_000_000))
        hammered = await _wallet(http, manager, session, HAMMER_BALANCE)
    return {"bars": bars, "waiters": waiters, "codes": codes, "hammered": hammered}


async def _debits(
    conn: HttpConnection, bar: int, codes: list[str], n: int, latencies: list[float]
) -> dict[str, int]:
    outcome: dict[str, int] = {}
    rng = random.Random(bar)
    for _ in range(n):
        body = {
            "idempotency_key": uuid.uuid4().hex,
            "code": rng.choice(codes),
            "register_id": bar,
            "amount_cents": PRICE,
        }
        started = time.perf_counter()
        status, reply = await conn.post_json("/api/wallets/debits", body)
        latencies.append((time.perf_counter() - started) * 1000)
        key = "debited" if status == 201 else reply["error"]["code"]
        outcome[key] = outcome.get(key, 0) + 1
    return outcome


def _merge(parts: list[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for part in parts:
        for k, v in part.items():
            total[k] = total.get(k, 0) + v
    return total


async def _books_balance() -> tuple[bool, int]:
    """(the ledger adds up and every kept balance is its sum, the lowest wallet balance
    any debit left)."""
    conn = await asyncpg.connect(env.database_url())
    try:
        drift = await drifted_accounts(conn)
        sums = await sum_of_balances(conn)
        lowest = await conn.fetchval(
            "SELECT coalesce(min(t.from_balance), 0) FROM ledger_transactions t"
            " JOIN wallets w ON w.id = t.wallet_id AND w.account_id = t.from_account"
            " WHERE NOT t.offline"
        )
    finally:
        await conn.close()
    return drift == 0 and set(sums.values()) <= {0}, int(lowest)


async def _run(server: env.Server, token: str, debits: int) -> dict[str, Any]:
    stage = await _setup(server.url, token)
    conns = [
        await HttpConnection.open("127.0.0.1", server.port, {"Authorization": f"Bearer {w}"})
        for w in stage["waiters"]
    ]
    try:
        latencies: list[float] = []
        per_bar = debits // BARS
        started = time.perf_counter()
        outcome = _merge(
            list(
                await asyncio.gather(
                    *(
                        _debits(conn, bar, stage["codes"], per_bar, latencies)
                        for conn, bar in zip(conns, stage["bars"], strict=True)
                    )
                )
            )
        )
        elapsed = time.perf_counter() - started
        hammer = _merge(
            list(
                await asyncio.gather(
                    *(
                        _debits(conn, bar, [stage["hammered"]], HAMMER_PER_BAR, [])
                        for conn, bar in zip(conns, stage["bars"], strict=True)
                    )
                )
            )
        )
    finally:
        for conn in conns:
            conn.close()
    latencies.sort()
    consistent, lowest = await _books_balance()
    covered = HAMMER_BALANCE // PRICE
    return {
        "wallet_bars": BARS,
        "wallet_debits": outcome.get("debited", 0),
        "wallet_refused": sum(v for k, v in outcome.items() if k != "debited"),
        "wallet_debits_per_s": round(outcome.get("debited", 0) / elapsed, 1),
        "wallet_p50_ms": round(latencies[len(latencies) // 2], 1),
        "wallet_p99_ms": round(latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 1),
        "wallet_hammer": hammer,
        "wallet_hammer_exact": hammer
        == {"debited": covered, "insufficient_balance": BARS * HAMMER_PER_BAR - covered},
        "wallet_ledger_consistent": consistent,
        "wallet_lowest_balance": lowest,
    }


def bench_wallet(server: env.Server, token: str, debits: int) -> dict[str, Any]:
    return asyncio.run(_run(server, token, debits))
