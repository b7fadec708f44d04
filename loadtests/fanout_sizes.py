"""The fan-out at several audience sizes: ``python -m loadtests.fanout_sizes``.

For each number of subscribers (1,000, 5,000 and 10,000 unless told), a fresh server
process, one 20,000-seat session watched by that many picows viewers, and the bench's
fan-out phase (``loadtests/bench.py``: seat changes at 200/s over HTTP holds for 10 s, the
latency of every change at every subscriber). Prints one JSON line per size; the figures of
docs/benchmarks.md ("Fan-out by audience size") come from it. Needs ``DATABASE_URL`` and
``REDIS_URL`` (``bash scripts/with-services.sh .venv/bin/python -m loadtests.fanout_sizes``).
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time
from typing import Any

from loadtests import env
from loadtests.bench import FULL, fanout_phase
from loadtests.fanout import ViewerPool

SIZES = (1_000, 5_000, 10_000)
VIEWERS_PER_PROCESS = 1_250
MAX_VIEWER_PROCESSES = 4
"""Past 4 viewer processes the two cores thrash: 8 processes of 1,250 viewers connected
only 8,782 of 10,000 in 90 s, 4 of 2,500 connect them all in 9 s."""


def measure(subscribers: int) -> dict[str, Any]:
    cfg = {**FULL, "subscribers": subscribers}
    with env.fresh_server() as (server, token):
        session = env.run(env.create_session(server.url, token, cfg["seats"], "fanout"))
        sent = mp.RawArray("d", cfg["seats"])
        processes = min(MAX_VIEWER_PROCESSES, max(2, -(-subscribers // VIEWERS_PER_PROCESS)))
        viewers = ViewerPool(processes, sent)
        try:
            connected = viewers.connect(server.ws_url, subscribers, f"seats:{session.id}")
            load = os.getloadavg()[0]
            out = fanout_phase(
                viewers, server, session, sent, 0, cfg["fanout_rate"], cfg["fanout_seconds"]
            )
        finally:
            viewers.close()
    kept = ("p50_ms", "p99_ms", "max_ms", "every_change_everywhere", "gaps", "resyncs")
    return {
        "subscribers": subscribers,
        "connected": connected,
        "loadavg_1m_before": round(load, 2),
        **{k: out[k] for k in kept},
        "frames_per_s": out["frames_per_s"],
        "server_cpu_pct": out["server_cpu_pct"],
        "loadgen_cpu_pct": out["loadgen_cpu_pct"],
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.fanout_sizes")
    parser.add_argument("--subscribers", type=int, nargs="+", default=list(SIZES))
    args = parser.parse_args()
    env.raise_nofile()
    for subscribers in args.subscribers:
        t0 = time.monotonic()
        result = measure(subscribers)
        result["seconds"] = round(time.monotonic() - t0, 1)
        print(json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()
