"""Best available on a 20,000-seat session: clients ask for 4 seats at a time until the
hall is half held; the latency of choosing and holding (one request, one Redis script) and
a check that no seat was handed out twice."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from loadtests import env
from loadtests.httpclient import HttpConnection
from server.platform import redis_client

CLIENTS = 10
PER_REQUEST = 4


async def _client(
    port: int, session_id: int, requests: int, latencies: list[float], seats: list[str]
) -> int:
    conn = await HttpConnection.open("127.0.0.1", port)
    refused = 0
    try:
        for _ in range(requests):
            started = time.perf_counter()
            status, body = await conn.post_json(
                f"/api/sessions/{session_id}/holds/best", {"quantity": PER_REQUEST}
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if status == 200:
                seats.extend(body["seats"])
            else:
                refused += 1
    finally:
        conn.close()
    return refused


async def _run(port: int, session: env.BenchSession) -> dict[str, Any]:
    target = len(session.seat_ids) // 2  # fill the hall to half
    per_client = target // (PER_REQUEST * CLIENTS)
    latencies: list[float] = []
    seats: list[str] = []
    started = time.perf_counter()
    refused = await asyncio.gather(
        *(_client(port, session.id, per_client, latencies, seats) for _ in range(CLIENTS))
    )
    elapsed = time.perf_counter() - started
    client = redis_client.connect(env.redis_url())
    try:
        held = await client.hlen(f"gq:{{s:{session.id}}}:seats")
    finally:
        await client.aclose()
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(len(latencies) * p / 100))], 2)

    return {
        "best_requests": len(latencies),
        "best_refused": sum(refused),
        "best_per_s": round(len(latencies) / elapsed, 1),
        "best_p50_ms": pct(50),
        "best_p99_ms": pct(99),
        "best_max_ms": round(latencies[-1], 2),
        "best_seats_held": len(seats),
        "best_no_seat_twice": len(seats) == len(set(seats)) == held,
    }


def bench_best(server: env.Server, session: env.BenchSession) -> dict[str, Any]:
    return asyncio.run(_run(server.port, session))
