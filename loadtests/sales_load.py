"""HTTP load of holds and orders: N keep-alive connections spread over a few processes.

Each connection works through its own list of jobs (a 4-seat group to hold, or a hold to
buy), one request at a time, until the list is done or the deadline passes. All processes
start at the same instant; each reports its counts, its successes and its CPU time.
"""

from __future__ import annotations

import asyncio
import multiprocessing as mp
import os
import resource
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from loadtests.httpclient import HttpConnection

Job = Any


@dataclass
class LoadResult:
    ok: int = 0
    refused: int = 0  # 409 seats_taken for holds
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    successes: list[Any] = field(default_factory=list)
    first_send: float = 0.0
    last_done: float = 0.0
    latencies_ms: list[float] = field(default_factory=list)
    cpu_s: float = 0.0

    def merge(self, other: LoadResult) -> None:
        self.ok += other.ok
        self.refused += other.refused
        self.errors += other.errors
        self.error_samples += other.error_samples[: 5 - len(self.error_samples)]
        self.successes += other.successes
        self.first_send = min(self.first_send or other.first_send, other.first_send)
        self.last_done = max(self.last_done, other.last_done)
        self.latencies_ms += other.latencies_ms
        self.cpu_s += other.cpu_s

    @property
    def elapsed(self) -> float:
        return max(self.last_done - self.first_send, 1e-9)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed

    def percentile(self, p: float) -> float:
        if not self.latencies_ms:
            return 0.0
        data = sorted(self.latencies_ms)
        return data[min(len(data) - 1, int(p / 100 * len(data)))]


async def _hold_conn(
    conn: HttpConnection, session_id: int, jobs: list[list[str]], deadline: float, res: LoadResult
) -> None:
    path = f"/api/sessions/{session_id}/holds"
    for seats in jobs:  # seat ids, or a number of general-admission places
        if time.monotonic() > deadline:
            break
        t0 = time.monotonic()
        hold = {"quantity": seats} if isinstance(seats, int) else {"seats": seats}
        status, body = await conn.post_json(path, hold)
        t1 = time.monotonic()
        res.latencies_ms.append((t1 - t0) * 1000)
        res.last_done = max(res.last_done, t1)
        if status == 200:
            res.ok += 1
            res.successes.append((body["token"], seats))
        elif status == 409 and body["error"]["code"] in ("seats_taken", "not_enough_places"):
            res.refused += 1
        else:
            res.errors += 1
            if len(res.error_samples) < 5:
                res.error_samples.append(f"{status} {body}")


async def _order_conn(
    conn: HttpConnection,
    session_id: int,
    jobs: list[tuple[str, list[str] | int, int]],
    deadline: float,
    res: LoadResult,
) -> None:
    path = f"/api/sessions/{session_id}/orders"
    for token, seats, tariff in jobs:
        if time.monotonic() > deadline:
            break
        doc = {
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"tariff_id": tariff, "quantity": seats}]
            if isinstance(seats, int)
            else [{"seat": s, "tariff_id": tariff} for s in seats],
            "buyer": {"name": "Bench", "email": "bench@example.org"},
        }
        t0 = time.monotonic()
        status, body = await conn.post_json(path, doc)
        t1 = time.monotonic()
        res.latencies_ms.append((t1 - t0) * 1000)
        res.last_done = max(res.last_done, t1)
        if status == 201:
            res.ok += 1
            res.successes.append(body["id"])
        else:
            res.errors += 1
            if len(res.error_samples) < 5:
                res.error_samples.append(f"{status} {body}")


async def _worker(
    kind: str,
    port: int,
    session_id: int,
    per_conn: list[list[Job]],
    start_at: float,
    deadline: float,
) -> LoadResult:
    conns = [await HttpConnection.open("127.0.0.1", port) for _ in per_conn]
    res = LoadResult()
    delay = start_at - time.monotonic()
    if delay > 0:
        await asyncio.sleep(delay)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    res.first_send = time.monotonic()
    run = _hold_conn if kind == "hold" else _order_conn
    await asyncio.gather(
        *(run(c, session_id, jobs, deadline, res) for c, jobs in zip(conns, per_conn, strict=True))
    )
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    res.cpu_s = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    for c in conns:
        c.close()
    return res


def _process_main(queue: Any, *args: Any) -> None:
    os.nice(10)  # the server first (see loadtests.fanout.LOADGEN_NICE)
    try:
        queue.put(asyncio.run(_worker(*args)))
    except BaseException as exc:  # report instead of hanging the parent
        r = LoadResult(errors=1, error_samples=[repr(exc)])
        queue.put(r)


def run_load(
    kind: str,
    port: int,
    session_id: int,
    per_conn: list[list[Job]],
    processes: int = 2,
    max_seconds: float = 20.0,
) -> LoadResult:
    """Run ``per_conn`` job lists (one per connection) over ``processes`` processes."""
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.monotonic() + 1.0 + 0.02 * len(per_conn)
    deadline = start_at + max_seconds
    procs = []
    for i in range(processes):
        chunk = per_conn[i::processes]
        if not chunk:
            continue
        p = ctx.Process(
            target=_process_main,
            args=(queue, kind, port, session_id, chunk, start_at, deadline),
            daemon=True,
        )
        p.start()
        procs.append(p)
    total = LoadResult()
    for _ in procs:
        total.merge(queue.get(timeout=max_seconds + 60))
    for p in procs:
        p.join(10)
    return total
