"""Holds and door scans with 1 and 2 server processes: ``python -m loadtests.scaling``.

Runs two phases of the bench (``loadtests/bench.py``: the contended holds and the door's
online scans over HTTP and the WebSocket, at their ``--quick`` sizes) against a server
started with ``WEB_CONCURRENCY=N`` for each N, on fresh databases; prints one JSON line per
N. The figures of docs/scaling.md come from it. Needs ``DATABASE_URL`` and ``REDIS_URL``
(``bash scripts/with-services.sh .venv/bin/python -m loadtests.scaling``).
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

from loadtests import env
from loadtests.bench import QUICK, bench_holds
from loadtests.door import bench_door


def measure(workers: int) -> dict[str, Any]:
    with env.fresh_server({"WEB_CONCURRENCY": str(workers)}) as (server, token):
        session = env.run(env.create_session(server.url, token, QUICK["seats"], "holds"))
        load = os.getloadavg()[0]
        holds = bench_holds(QUICK, server, session)
        door = bench_door(QUICK, server, token)
    scans = ("scans_per_s", "p50_ms", "p99_ms", "machine_busy_pct")
    return {
        "workers": workers,
        "loadavg_1m_before": round(load, 2),
        "holds": {k: v for k, v in holds.items() if k in ("holds_per_s", "hold_p99_ms")},
        "door": {way: {k: door[way][k] for k in scans} for way in ("http", "ws")},
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.scaling")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    for workers in args.workers:
        t0 = time.monotonic()
        result = measure(workers)
        result["seconds"] = round(time.monotonic() - t0, 1)
        print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main()
