"""How a session's size weighs: the seat-map document, the WebSocket snapshot and a single
hold at 1,000, 20,000 and 100,000 seats (a stadium).

For each size, one fresh session on a ``grid`` plan through the HTTP API, then from one
client, one request at a time (latency, not throughput):

- seat map: the first ``GET`` (cold: read from Postgres, rendered, compressed), then
  ``WARM`` more (served from the process's copy), with the bytes sent gzipped and raw;
- snapshot: subscribe to ``seats:<id>`` on a fresh WebSocket until its snapshot arrives;
- hold: ``HOLDS`` holds of one free seat each, and their release.

Run alone: ``python -m loadtests.stadium`` (with ``DATABASE_URL`` and ``REDIS_URL``, as
``make bench`` gives them), or as a phase of ``loadtests.bench``.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import websockets

from loadtests import env

SIZES = (1_000, 20_000, 100_000)
WARM = 30
HOLDS = 200
SNAPSHOTS = 5


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


async def _seat_map(http: httpx.AsyncClient, session_id: int) -> dict[str, Any]:
    url = f"/api/sessions/{session_id}/seat-map"
    t0 = time.perf_counter()
    cold = await http.get(url, headers={"Accept-Encoding": "gzip"})
    cold_s = time.perf_counter() - t0
    cold.raise_for_status()
    warm: list[float] = []
    for _ in range(WARM):
        t0 = time.perf_counter()
        r = await http.get(url, headers={"Accept-Encoding": "gzip"})
        warm.append(time.perf_counter() - t0)
        r.raise_for_status()
    async with http.stream("GET", url, headers={"Accept-Encoding": "gzip"}) as zipped:
        gz_bytes = sum([len(c) async for c in zipped.aiter_raw()])
    return {
        "map_cold_ms": _ms(cold_s),
        "map_warm_p50_ms": _ms(_pct(warm, 0.5)),
        "map_warm_p99_ms": _ms(_pct(warm, 0.99)),
        "map_raw_kb": round(len(cold.content) / 1024),
        "map_gzip_kb": round(gz_bytes / 1024),
    }


async def _snapshot(ws_url: str, session_id: int) -> dict[str, Any]:
    times: list[float] = []
    for _ in range(SNAPSHOTS):
        async with websockets.connect(
            ws_url,
            subprotocols=["guichet.json"],  # type: ignore[list-item]
            max_size=64 * 1024 * 1024,
        ) as ws:
            t0 = time.perf_counter()
            await ws.send(json.dumps({"type": "subscribe", "channel": f"seats:{session_id}"}))
            while json.loads(await ws.recv()).get("type") != "snapshot":
                pass
            times.append(time.perf_counter() - t0)
    return {"snapshot_p50_ms": _ms(_pct(times, 0.5)), "snapshot_max_ms": _ms(max(times))}


async def _holds(http: httpx.AsyncClient, session: env.BenchSession) -> dict[str, Any]:
    step = max(1, len(session.seat_ids) // HOLDS)
    times: list[float] = []
    for seat in session.seat_ids[::step][:HOLDS]:
        t0 = time.perf_counter()
        r = await http.post(f"/api/sessions/{session.id}/holds", json={"seats": [seat]})
        times.append(time.perf_counter() - t0)
        assert r.status_code in (200, 201), r.text
        token = r.json()["token"]
        await http.request("DELETE", f"/api/sessions/{session.id}/holds/{token}")
    return {"hold_p50_ms": _ms(_pct(times, 0.5)), "hold_p99_ms": _ms(_pct(times, 0.99))}


async def _one_size(server: env.Server, token: str, seats: int) -> dict[str, Any]:
    t0 = time.perf_counter()
    session = await env.create_session(server.url, token, seats, f"stadium {seats}")
    setup_s = time.perf_counter() - t0
    async with httpx.AsyncClient(base_url=server.url, timeout=120) as http:
        figures = {"seats": seats, "setup_s": round(setup_s, 2)}
        figures.update(await _seat_map(http, session.id))
        figures.update(await _snapshot(server.ws_url, session.id))
        figures.update(await _holds(http, session))
    return figures


def bench_stadium(server: env.Server, token: str) -> list[dict[str, Any]]:
    return [env.run(_one_size(server, token, n)) for n in SIZES]


def main() -> None:
    env.raise_nofile()
    with env.fresh_server() as (server, token):
        for row in bench_stadium(server, token):
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
