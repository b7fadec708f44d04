"""The Guichet bench: ``python -m loadtests.bench [--quick]`` (``make bench``).

Needs ``DATABASE_URL`` and ``REDIS_URL`` (``make bench`` provides private ones). Recreates
its own database ``guichet_bench``, flushes its own Redis db (5), starts a real server
process and drives it over HTTP and WebSocket from separate load-generator processes:

1. holds: 50 connections hold contended 4-seat groups of a 20,000-seat session; every
   conflict must be refused and no seat may end up under two tokens; then the same Lua
   script from a bare redis-py loop, for comparison;
2. sales: holds first, then 50 connections confirm durable orders;
3. memory: server RSS per idle subscribed WebSocket connection;
4. door (``loadtests.door``): online scans over HTTP and over the WebSocket (16 scanner
   clients each, valid and duplicate scans mixed), then a 10,000-scan offline upload;
5. fan-out: N subscribers of one seat map, seat changes at a fixed rate (default 20 ms
   coalescing window), end-to-end latency of every change at every subscriber;
6. Redis flushed under load: sold seats rebuilt, every subscriber resynced;
7. fan-out peak: a second server process started with ``GUICHET_BATCH_MS=1`` (almost every
   change its own frame), N fresh subscribers, a ladder of change rates up to and past the
   server's saturation: frames/s delivered, server CPU and CPU per frame at each step;
8. baseline: a bare ``websockets.broadcast`` server to the same number of clients;
9. stadium (``loadtests.stadium``, run after best available): the seat-map document, the
   snapshot and one hold at 1,000, 20,000 and 100,000 seats;
10. statements (``loadtests.statements``, runnable alone): the sales statement of 1,000,000
    lines as CSV and XLSX, ``/api/stats``, one day's statement, on a kept database;
11. two processes: a server with ``WEB_CONCURRENCY=2`` runs the holds (phase 1) and the
    door's online scans (phase 4) again, for the figures per process count.

Prints a table, then (last line) one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import json
import multiprocessing as mp
import os
import platform
import random
import resource
import subprocess
import sys
import time
from typing import Any, cast

import asyncpg

from loadtests import env
from loadtests.best import CLIENTS, bench_best
from loadtests.desk import REGISTERS as DESK_REGISTERS
from loadtests.desk import bench_desk
from loadtests.door import DOOR_FULL, DOOR_QUICK, bench_door
from loadtests.fanout import ViewerPool, percentile
from loadtests.httpclient import HttpConnection
from loadtests.sales_load import run_load
from loadtests.stadium import SIZES as STADIUM_SIZES
from loadtests.stadium import bench_stadium
from loadtests.statements import bench_statements
from loadtests.wallet import BARS as WALLET_BARS
from loadtests.wallet import bench_wallet
from server.platform import redis_client
from server.seating.live import Keys, Live, SessionFacts

FULL: dict[str, Any] = {
    "seats": 20_000,
    "subscribers": 5_000,
    "viewer_procs": 4,
    "http_conns": 50,
    "http_procs": 2,
    "fanout_rate": 200,
    "fanout_seconds": 10,
    # peak: change rates (per second) = these frames/s targets / subscribers
    "peak_ladder": [50_000, 100_000, 150_000, 250_000, 400_000],
    "peak_seconds": 3,
    "orders": 3000,
    "desk_sales": 3000,
    "wallet_debits": 4000,
    "flush_sold": 5000,
    "baseline_seconds": 5,
    "lua_seconds": 3,
    "statement_lines": 1_000_000,
    "statement_scans": 500_000,
    **DOOR_FULL,
}
QUICK: dict[str, Any] = {
    **FULL,
    "subscribers": 1000,
    "viewer_procs": 2,
    "fanout_seconds": 4,
    "peak_seconds": 2.5,
    "orders": 800,
    "desk_sales": 1000,
    "wallet_debits": 1000,
    "flush_sold": 2000,
    "baseline_seconds": 3,
    "lua_seconds": 2,
    "statement_lines": 100_000,
    "statement_scans": 50_000,
    **DOOR_QUICK,
}
TARGETS = {
    "fanout_p99_ms": 250,
    "fanout_ratio": 0.7,
    "kb_per_connection": 30,
    "holds_per_s": 2000,
    "orders_per_s": 500,
    "flush_resync_s": 1.0,
    "door_scans_per_s": 1500,
    "door_p99_ms": 25,
    "door_batch_s": 5.0,
    "best_p99_ms": 20,
    "desk_sales_per_s": 500,
    "wallet_debits_per_s": 1000,
    "wallet_p99_ms": 25,
}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def own_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


class Meter:
    """Server and load-generator CPU over a phase."""

    def __init__(self, server_pid: int) -> None:
        self.pid = server_pid
        self.t0 = time.monotonic()
        self.s0 = env.cpu_seconds(server_pid)
        self.c0 = own_cpu()
        self.b0 = env.system_busy()

    def done(self, loadgen_cpu: float = 0.0, elapsed: float | None = None) -> dict[str, float]:
        """CPU per wall second; ``elapsed`` narrows the window when the load started late
        (the idle server burns ~nothing meanwhile)."""
        elapsed = elapsed or time.monotonic() - self.t0
        busy, total = env.system_busy()
        return {
            # every process of the machine (Redis, Postgres and anything else running), in % of
            # all CPUs
            "machine_busy_pct": round(100 * (busy - self.b0[0]) / max(total - self.b0[1], 1), 1),
            "server_cpu_pct": round(100 * (env.cpu_seconds(self.pid) - self.s0) / elapsed, 1),
            "loadgen_cpu_pct": round(100 * (own_cpu() - self.c0 + loadgen_cpu) / elapsed, 1),
        }


def groups_of(seat_ids: list[str], first: int, count: int) -> list[list[str]]:
    return [seat_ids[first + 4 * g : first + 4 * g + 4] for g in range(count)]


def contended_jobs(
    n_groups: int, conns: int, contention: float, rng: random.Random
) -> list[list[int]]:
    """Each connection works a stripe of a shuffled list of 4-seat groups; a share of its
    attempts goes to a random group of the whole list instead (somebody else's)."""
    order = list(range(n_groups))
    rng.shuffle(order)
    jobs = []
    for c in range(conns):
        stripe = order[c::conns]
        jobs.append([rng.randrange(n_groups) if rng.random() < contention else g for g in stripe])
    return jobs


# -- holds -------------------------------------------------------------------------------


def bench_holds(
    cfg: dict[str, Any], server: env.Server, session: env.BenchSession
) -> dict[str, Any]:
    rng = random.Random(7)
    n_groups = cfg["seats"] // 4
    jobs = contended_jobs(n_groups, cfg["http_conns"], 0.15, rng)
    per_conn = [[session.seat_ids[4 * g : 4 * g + 4] for g in js] for js in jobs]
    meter = Meter(server.pid)
    res = run_load("hold", server.port, session.id, per_conn, cfg["http_procs"], max_seconds=20)
    cpu = meter.done(res.cpu_s, res.elapsed)
    verified = asyncio.run(verify_holds(session, res.successes))
    return {
        "holds_ok": res.ok,
        "holds_refused": res.refused,
        "holds_errors": res.errors,
        "error_samples": res.error_samples,
        "holds_seconds": round(res.elapsed, 2),
        "holds_per_s": round(res.rate, 1),
        "requests_per_s": round((res.ok + res.refused) / res.elapsed, 1),
        "hold_p50_ms": round(res.percentile(50), 1),
        "hold_p99_ms": round(res.percentile(99), 1),
        **verified,
        **{f"holds_{k}": v for k, v in cpu.items()},
    }


async def verify_holds(session: env.BenchSession, successes: list[Any]) -> dict[str, Any]:
    client = redis_client.connect(env.redis_url())
    try:
        raw = cast(dict[bytes, bytes], await client.hgetall(Keys(session.id).seats))
    finally:
        await client.aclose()
    index = {s: i for i, s in enumerate(session.seat_ids)}
    held = {int(k): v.decode() for k, v in raw.items()}
    claimed: dict[int, str] = {}
    double = 0
    mismatch = 0
    for token, seats in successes:
        for s in seats:
            i = index[s]
            if i in claimed:
                double += 1
            claimed[i] = token
            if held.get(i) != "h" + token:
                mismatch += 1
    n_held = sum(1 for v in held.values() if v.startswith("h"))
    return {
        "seats_held": n_held,
        "seats_in_successful_holds": 4 * len(successes),
        "double_holds": double,
        "holds_mismatched": mismatch,
        "holds_consistent": double == 0 and mismatch == 0 and n_held == 4 * len(successes),
    }


async def bare_lua(cfg: dict[str, Any]) -> dict[str, Any]:
    """The same ``holds_hold`` script from a bare redis-py loop (Live.hold, no HTTP)."""
    n = cfg["seats"]
    fake_id = 900_000_000

    async def loader(session_id: int) -> SessionFacts:
        return SessionFacts(session_id, n, n, 0, (), ())

    client = redis_client.connect(env.redis_url(), max_connections=200)
    live = Live(client, loader)
    await live.ensure_loaded(fake_id)
    rng = random.Random(11)
    jobs = contended_jobs(n // 4, cfg["http_conns"], 0.15, rng)
    ok = refused = 0
    deadline = time.monotonic() + cfg["lua_seconds"] * 4
    cpu0 = own_cpu()
    t0 = time.monotonic()

    async def worker(groups: list[int]) -> None:
        nonlocal ok, refused
        from server.seating.live import HoldRefused

        for g in groups:
            if time.monotonic() > deadline:
                return
            token = f"bare{rng.getrandbits(64):016x}"
            try:
                await live.hold(
                    fake_id, token, list(range(4 * g, 4 * g + 4)), 0, 600_000, 1_800_000
                )
                ok += 1
            except HoldRefused:
                refused += 1

    await asyncio.gather(*(worker(j) for j in jobs))
    elapsed = time.monotonic() - t0
    cpu = own_cpu() - cpu0
    k = Keys(fake_id)
    await client.delete(k.meta, k.seats, k.log, k.exp)
    await client.aclose()
    return {
        "lua_holds_ok": ok,
        "lua_refused": refused,
        "lua_seconds": round(elapsed, 2),
        "lua_holds_per_s": round(ok / elapsed, 1),
        "lua_client_cpu_pct": round(100 * cpu / elapsed, 1),
    }


def bench_two_processes(cfg: dict[str, Any]) -> dict[str, Any]:
    """Holds and the door's online scans again, on a server of two processes (uvicorn
    workers sharing the port), on the same databases: the figures per process count."""
    server = env.Server({"WEB_CONCURRENCY": "2"})
    try:
        server.wait_ready()
        token = env.run(env.login(server.url))
        session = env.run(env.create_session(server.url, token, cfg["seats"], "holds-2"))
        holds = bench_holds(cfg, server, session)
        door = bench_door(cfg, server, token, ways=("http", "ws"))
    finally:
        server.stop()
    scans = ("scans_per_s", "p50_ms", "p99_ms", "outcome_ok", "machine_busy_pct")
    return {
        "holds_per_s": holds["holds_per_s"],
        "hold_p99_ms": holds["hold_p99_ms"],
        "holds_consistent": holds["holds_consistent"],
        "door": {way: {k: door[way].get(k) for k in scans} for way in ("http", "ws")},
    }


# -- sales -------------------------------------------------------------------------------


def hold_groups(
    server: env.Server, session: env.BenchSession, first: int, n: int, conns: int, procs: int
) -> list[tuple[str, list[str]]]:
    groups = groups_of(session.seat_ids, first, n)
    per_conn = [groups[c::conns] for c in range(conns)]
    res = run_load("hold", server.port, session.id, per_conn, procs, max_seconds=60)
    if res.errors or res.refused:
        log(f"  holding first: {res.errors} errors, {res.refused} refused {res.error_samples}")
    return res.successes


def bench_sales(
    cfg: dict[str, Any], server: env.Server, session: env.BenchSession
) -> dict[str, Any]:
    holds = hold_groups(server, session, 0, cfg["orders"], cfg["http_conns"], cfg["http_procs"])
    tariff = session.tariff_ids[0]
    conns = cfg["http_conns"]
    per_conn = [[(t, s, tariff) for t, s in holds[c::conns]] for c in range(conns)]
    meter = Meter(server.pid)
    res = run_load("order", server.port, session.id, per_conn, cfg["http_procs"], max_seconds=60)
    cpu = meter.done(res.cpu_s, res.elapsed)
    tickets = asyncio.run(count_tickets(session.id))
    return {
        "orders_created": res.ok,
        "orders_errors": res.errors,
        "order_error_samples": res.error_samples,
        "orders_seconds": round(res.elapsed, 2),
        "orders_per_s": round(res.rate, 1),
        "order_p50_ms": round(res.percentile(50), 1),
        "order_p99_ms": round(res.percentile(99), 1),
        "tickets_in_postgres": tickets,
        "tickets_consistent": tickets == 4 * res.ok,
        **{f"orders_{k}": v for k, v in cpu.items()},
    }


def bench_ga_sales(
    cfg: dict[str, Any], server: env.Server, session: env.BenchSession
) -> dict[str, Any]:
    """General admission: 4-place holds, then 50 clients confirm orders of one session at
    once (every order of a session takes its row lock: they serialise in Postgres)."""
    conns, procs = cfg["http_conns"], cfg["http_procs"]
    jobs = [[4] * (cfg["orders"] // conns) for _ in range(conns)]
    held = run_load("hold", server.port, session.id, jobs, procs, max_seconds=60)
    tariff = session.tariff_ids[0]
    holds = held.successes
    per_conn = [[(t, q, tariff) for t, q in holds[c::conns]] for c in range(conns)]
    meter = Meter(server.pid)
    res = run_load("order", server.port, session.id, per_conn, procs, max_seconds=60)
    cpu = meter.done(res.cpu_s, res.elapsed)
    tickets = asyncio.run(count_tickets(session.id))
    return {
        "ga_holds": held.ok,
        "ga_orders_created": res.ok,
        "ga_orders_errors": res.errors,
        "ga_order_error_samples": res.error_samples,
        "ga_orders_per_s": round(res.rate, 1),
        "ga_order_p50_ms": round(res.percentile(50), 1),
        "ga_order_p99_ms": round(res.percentile(99), 1),
        "ga_tickets_in_postgres": tickets,
        "ga_tickets_consistent": tickets == 4 * res.ok and res.errors == 0,
        **{f"ga_orders_{k}": v for k, v in cpu.items()},
    }


async def count_tickets(session_id: int) -> int:
    conn = await asyncpg.connect(env.database_url())
    try:
        return int(
            await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE session_id = $1 AND status = 'active'",
                session_id,
            )
        )
    finally:
        await conn.close()


async def pg_settings() -> dict[str, str]:
    conn = await asyncpg.connect(env.database_url())
    try:
        return {
            k: str(await conn.fetchval(f"SHOW {k}"))
            for k in ("fsync", "synchronous_commit", "wal_sync_method", "server_version")
        }
    finally:
        await conn.close()


# -- fan-out -----------------------------------------------------------------------------


async def drive(
    server: env.Server,
    session: env.BenchSession,
    sent: Any,
    first: int,
    rate: float,
    seconds: float,
    conns: int = 24,
) -> dict[str, Any]:
    """Hold one seat per request at ``rate`` per second; stamp each seat's send time."""
    pool: asyncio.Queue[HttpConnection] = asyncio.Queue()
    for _ in range(conns):
        pool.put_nowait(await HttpConnection.open("127.0.0.1", server.port))
    path = f"/api/sessions/{session.id}/holds"
    total = int(rate * seconds)
    ok = failed = 0
    late = 0
    tasks = set()

    async def one(conn: HttpConnection, idx: int) -> None:
        nonlocal ok, failed
        sent[idx] = time.monotonic()
        status, _ = await conn.post_json(path, {"seats": [session.seat_ids[idx]]})
        if status == 200:
            ok += 1
        else:
            failed += 1
        pool.put_nowait(conn)

    t0 = time.monotonic()
    for k in range(total):
        due = t0 + k / rate
        delay = due - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        elif delay < -0.05:
            late += 1
        conn = await pool.get()
        task = asyncio.create_task(one(conn, first + k))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    while not pool.empty():
        pool.get_nowait().close()
    return {
        "sent": total,
        "ok": ok,
        "failed": failed,
        "late": late,
        "seconds": elapsed,
        "achieved_rate": total / elapsed,
    }


async def drive_redis(
    session: env.BenchSession, sent: Any, first: int, rate: float, seconds: float, conc: int = 16
) -> dict[str, Any]:
    """Hold one seat per call of the ``holds_hold`` script, straight into Redis (the server
    only sees the published changes)."""

    async def no_load(session_id: int) -> SessionFacts:
        raise RuntimeError("the session is loaded by the server")

    client = redis_client.connect(env.redis_url(), max_connections=conc + 4)
    live = Live(client, no_load)
    total = int(rate * seconds)
    ok = failed = 0
    sem = asyncio.Semaphore(conc)
    tasks = set()

    async def one(idx: int) -> None:
        nonlocal ok, failed
        try:
            sent[idx] = time.monotonic()
            await live.hold(session.id, f"peak-{idx:08d}-bench", [idx], 0, 600_000, 1_800_000)
            ok += 1
        except Exception:
            failed += 1
        finally:
            sem.release()

    t0 = time.monotonic()
    for k in range(total):
        delay = t0 + k / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        await sem.acquire()
        task = asyncio.create_task(one(first + k))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    await asyncio.gather(*tasks)
    elapsed = time.monotonic() - t0
    await client.aclose()
    return {
        "sent": total,
        "ok": ok,
        "failed": failed,
        "seconds": elapsed,
        "achieved_rate": total / elapsed,
    }


def fanout_phase(
    viewers: ViewerPool,
    server: env.Server,
    session: env.BenchSession,
    sent: Any,
    first: int,
    rate: float,
    seconds: float,
    via: str = "http",
) -> dict[str, Any]:
    viewers.call("reset")
    meter = Meter(server.pid)
    if via == "http":
        drove = asyncio.run(drive(server, session, sent, first, rate, seconds))
    else:
        drove = asyncio.run(drive_redis(session, sent, first, rate, seconds))
    at_end = viewers.stats()
    window = drove["seconds"]
    time.sleep(2.0)  # let the last batches arrive
    st = viewers.stats()
    cpu = meter.done(st["cpu_s"])
    hist = st["hist"]
    return {
        "via": via,
        "rate": rate,
        "achieved_rate": round(drove["achieved_rate"], 1),
        "changes_made": drove["ok"],
        "failed": drove["failed"],
        "frames_per_s": round(at_end["frames"] / window, 0),
        "changes_delivered_per_s": round(at_end["changes"] / window, 0),
        "changes_per_frame": round(at_end["changes"] / max(at_end["frames"], 1), 2),
        "mean_frame_bytes": round(at_end["bytes"] / max(at_end["frames"], 1), 1),
        "changes_delivered": st["changes"],
        "changes_expected": drove["ok"] * st["clients"],
        "clients": st["clients"],
        "min_client_changes": st["min_client_changes"],
        "every_change_everywhere": st["min_client_changes"] == drove["ok"] and st["gaps"] == 0,
        "gaps": st["gaps"],
        "resyncs": st["resyncs"],
        "snapshots": st["snapshots"],
        "disconnected": st["disconnected"],
        "p50_ms": percentile(hist, 50),
        "p99_ms": percentile(hist, 99),
        "max_ms": percentile(hist, 100),
        **cpu,
    }


def bench_memory(cfg: dict[str, Any], session: env.BenchSession) -> dict[str, Any]:
    """RSS of a fresh server process (same database and Redis) before and after the
    subscribers connect and subscribe. A fresh process, because the other phases leave
    freed memory behind that new connections would reuse, understating their cost."""
    server = env.Server()
    viewers = None
    try:
        server.wait_ready()
        viewers = ViewerPool(cfg["viewer_procs"])
        # Warm up: the session's feed, its Redis mirror and the code paths of one client.
        viewers.connect(server.ws_url, cfg["viewer_procs"], f"seats:{session.id}")
        time.sleep(1.0)
        rss0 = env.rss_kb(server.pid)
        log(f"connecting {cfg['subscribers']} subscribers (RSS before {rss0} KB)")
        conn = viewers.connect(server.ws_url, cfg["subscribers"], f"seats:{session.id}")
        log(f"  {conn}")
        time.sleep(2.0)
        rss1 = env.rss_kb(server.pid)
    finally:
        if viewers is not None:
            viewers.close()
        server.stop()
    n = conn["subscribed"]
    return {
        "rss_before_kb": rss0,
        "rss_after_kb": rss1,
        "subscribed": n,
        "connect_seconds": round(conn["seconds"], 1),
        "kb_per_connection": round((rss1 - rss0) / max(n, 1), 1),
        "connect_errors": conn["errors"],
    }


def bench_fanout(
    cfg: dict[str, Any],
    server: env.Server,
    session: env.BenchSession,
    viewers: ViewerPool,
    sent: Any,
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    first = 0
    log(f"fan-out: {cfg['fanout_rate']} changes/s for {cfg['fanout_seconds']} s")
    out["fanout"] = fanout_phase(
        viewers, server, session, sent, first, cfg["fanout_rate"], cfg["fanout_seconds"]
    )
    log(f"  {out['fanout']}")
    first += int(cfg["fanout_rate"] * cfg["fanout_seconds"])

    # Redis flushed under load: sell seats first (from the end of the plan), then flush.
    n_orders = cfg["flush_sold"] // 4
    first_sold = cfg["seats"] - cfg["flush_sold"]
    log(f"selling {cfg['flush_sold']} seats of the watched session")
    assert first + 4 * cfg["fanout_rate"] < (cfg["seats"] - cfg["flush_sold"]), (
        "the phases need more seats"
    )
    holds = hold_groups(server, session, first_sold, n_orders, 20, 1)
    tariff = session.tariff_ids[0]
    per_conn = [[(t, s, tariff) for t, s in holds[c::20]] for c in range(20)]
    sold = run_load("order", server.port, session.id, per_conn, 1, max_seconds=60)
    time.sleep(2.0)
    log(f"  sold {4 * sold.ok} seats; flushing redis db {env.BENCH_REDIS_DB}")
    out["flush"] = flush_phase(
        viewers, server, session, sent, first, cfg["fanout_rate"], 4 * sold.ok
    )
    log(f"  {out['flush']}")
    return out


def flush_phase(
    viewers: ViewerPool,
    server: env.Server,
    session: env.BenchSession,
    sent: Any,
    first: int,
    rate: float,
    sold: int,
) -> dict[str, Any]:
    """Flush the Redis db while seat changes keep coming over HTTP; wait until every
    subscriber got a snapshot of the new epoch."""

    async def run() -> tuple[float, list[dict[str, Any]], dict[str, Any]]:
        loop = asyncio.get_running_loop()
        driving = asyncio.create_task(drive(server, session, sent, first, rate, 4.0))
        await asyncio.sleep(1.0)
        client = redis_client.connect(env.redis_url())
        try:
            t_flush = time.monotonic()
            await client.flushdb()
        finally:
            await client.aclose()
        deadline = t_flush + 10
        replies: list[dict[str, Any]] = []
        while time.monotonic() < deadline:
            await asyncio.sleep(0.25)
            replies = await loop.run_in_executor(
                None, functools.partial(viewers.call, "resync", after=t_flush)
            )
            if all(r["resynced"] == r["clients"] for r in replies):
                break
        return t_flush, replies, await driving

    meter = Meter(server.pid)
    _, replies, drove = asyncio.run(run())
    cpu = meter.done()
    resynced = sum(r["resynced"] for r in replies)
    clients = sum(r["clients"] for r in replies)
    times = [r["max_s"] for r in replies if r["max_s"] is not None]
    sold_seen = sorted({s for r in replies for s in r["sold"]})
    return {
        "clients": clients,
        "resynced": resynced,
        "resync_s": round(max(times), 3) if times and resynced == clients else None,
        "slowest_resync_s": round(max(times), 3) if times else None,
        "sold_expected": sold,
        "sold_in_snapshots": sold_seen,
        "sold_rebuilt": sold_seen == [sold],
        "changes_during": drove["sent"],
        "changes_failed": drove["failed"],
        **cpu,
    }


# -- fan-out peak ------------------------------------------------------------------------


def peak_step(
    viewers: ViewerPool,
    server: env.Server,
    session: env.BenchSession,
    sent: Any,
    first: int,
    rate: float,
    seconds: float,
) -> dict[str, Any]:
    """Changes straight into Redis at ``rate`` (the server only fans out); frames, changes
    and CPU are counted over the driving window, continuity after a settling pause."""
    viewers.call("reset")
    s0, b0, c0, t0 = env.cpu_seconds(server.pid), env.system_busy(), own_cpu(), time.monotonic()
    drove = asyncio.run(drive_redis(session, sent, first, rate, seconds))
    at_end = viewers.stats()
    s1, b1, c1, t1 = env.cpu_seconds(server.pid), env.system_busy(), own_cpu(), time.monotonic()
    window = drove["seconds"]
    time.sleep(1.5)  # the last frames
    st = viewers.stats()
    frames = max(at_end["frames"], 1)
    wall = t1 - t0
    return {
        "rate": round(rate, 1),
        "achieved_rate": round(drove["achieved_rate"], 1),
        "changes_made": drove["ok"],
        "clients": st["clients"],
        "frames_per_s": round(at_end["frames"] / window, 0),
        "changes_delivered_per_s": round(at_end["changes"] / window, 0),
        "changes_per_frame": round(at_end["changes"] / frames, 2),
        "mean_frame_bytes": round(at_end["bytes"] / frames, 1),
        "server_cpu_pct": round(100 * (s1 - s0) / wall, 1),
        "server_cpu_us_per_frame": round(1e6 * (s1 - s0) / frames, 2),
        # viewers (niced) + this process driving Redis; the machine has 2 CPUs = 200 %
        "loadgen_cpu_pct": round(100 * (at_end["cpu_s"] + c1 - c0) / wall, 1),
        "machine_busy_pct": round(100 * (b1[0] - b0[0]) / max(b1[1] - b0[1], 1), 1),
        "every_change_everywhere": st["min_client_changes"] == drove["ok"] and st["gaps"] == 0,
        "min_client_changes": st["min_client_changes"],
        "gaps": st["gaps"],
        "resyncs": st["resyncs"],
        "snapshots": st["snapshots"],
        "disconnected": st["disconnected"],
        "p50_ms": percentile(st["hist"], 50),
        "p99_ms": percentile(st["hist"], 99),
    }


def bench_peak(cfg: dict[str, Any], session: env.BenchSession) -> dict[str, Any]:
    """Peak frames/s of a server process started with ``GUICHET_BATCH_MS=1``: with the
    default 20 ms window a client gets at most ~1/(window + flush) frames/s, which caps
    frames/s long before the CPU does. A ladder of change rates, from one change per frame
    to well past saturation (then changes merge into frames again, the CPU being full)."""
    server = env.Server({"GUICHET_BATCH_MS": "1"})
    viewers = None
    steps: list[dict[str, Any]] = []
    try:
        server.wait_ready()
        sent = mp.RawArray("d", cfg["seats"])
        viewers = ViewerPool(cfg["viewer_procs"], sent)
        conn = viewers.connect(server.ws_url, cfg["subscribers"], f"seats:{session.id}")
        log(f"  peak server pid {server.pid} (GUICHET_BATCH_MS=1): {conn}")
        time.sleep(1.0)
        n = max(conn["subscribed"], 1)
        first = 0
        for target in cfg["peak_ladder"]:
            rate = target / n
            step = peak_step(viewers, server, session, sent, first, rate, cfg["peak_seconds"])
            first += int(rate * cfg["peak_seconds"]) + 1
            log(f"  {step}")
            steps.append(step)
    finally:
        if viewers is not None:
            viewers.close()
        server.stop()
    best = max(steps, key=lambda x: x["frames_per_s"])
    return {
        "batch_ms": 1,
        "clients": best["clients"],
        "steps": steps,
        "frames_per_s": best["frames_per_s"],
        "best": best,
        "all_delivered": all(x["every_change_everywhere"] for x in steps),
        "resyncs": sum(x["resyncs"] for x in steps),
        "gaps": sum(x["gaps"] for x in steps),
    }


# -- baseline ----------------------------------------------------------------------------


def bench_baseline(cfg: dict[str, Any]) -> dict[str, Any]:
    port = env.free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "loadtests.baseline_ws", str(port)],
        cwd=env.ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    viewers = None
    try:
        assert proc.stdout is not None and proc.stdin is not None
        if proc.stdout.readline().strip() != "ready":
            raise RuntimeError("baseline server did not start")
        viewers = ViewerPool(cfg["viewer_procs"], baseline=True)
        conn = viewers.connect(f"ws://127.0.0.1:{port}/", cfg["subscribers"], None)
        log(f"  baseline clients: {conn}")
        time.sleep(1.0)
        viewers.call("reset")
        s0 = env.cpu_seconds(proc.pid)
        t0 = time.monotonic()
        proc.stdin.write(f"go {cfg['baseline_seconds']}\n")
        proc.stdin.flush()
        line = proc.stdout.readline()
        at_end = viewers.stats()
        elapsed = time.monotonic() - t0
        server_cpu = env.cpu_seconds(proc.pid) - s0
        figures = json.loads(line)
        return {
            "clients": conn["connected"],
            "frames_per_s": round(at_end["frames"] / elapsed, 0),
            "server_cpu_us_per_frame": round(1e6 * server_cpu / max(at_end["frames"], 1), 2),
            "mean_frame_bytes": round(at_end["bytes"] / max(at_end["frames"], 1), 1),
            "frames_per_s_written": round(figures["frames_per_s_written"], 0),
            "frame_bytes": figures["frame_bytes"],
            "server_cpu_pct": round(100 * server_cpu / elapsed, 1),
            "loadgen_cpu_pct": round(100 * at_end["cpu_s"] / elapsed, 1),
        }
    finally:
        if viewers is not None:
            viewers.close()
        if proc.poll() is None:
            try:
                assert proc.stdin is not None
                proc.stdin.write("quit\n")
                proc.stdin.flush()
                proc.wait(5)
            except (OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()


# -- report ------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as f:
        mem_kb = int(f.readline().split()[1])
    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "mem_gb": round(mem_kb / 2**20, 1),
        "python": platform.python_version(),
    }


def verdicts(r: dict[str, Any]) -> dict[str, bool]:
    f, m, h, s, fl = r["fanout"], r["memory"], r["holds"], r["sales"], r["flush"]
    d = r["door"]

    def online(x: dict[str, Any]) -> bool:
        return bool(
            x["scans_per_s"] >= TARGETS["door_scans_per_s"]
            and x["p99_ms"] <= TARGETS["door_p99_ms"]
            and x["outcome_ok"]
        )

    return {
        "fanout_p99": f["p99_ms"] is not None
        and f["p99_ms"] <= TARGETS["fanout_p99_ms"]
        and f["every_change_everywhere"],
        "fanout_ratio": r["fanout_ratio"] >= TARGETS["fanout_ratio"],
        "memory": m["kb_per_connection"] <= TARGETS["kb_per_connection"],
        "holds": h["holds_per_s"] >= TARGETS["holds_per_s"] and h["holds_consistent"],
        "holds_2": r["two_processes"]["holds_per_s"] >= TARGETS["holds_per_s"]
        and r["two_processes"]["holds_consistent"],
        "sales": s["orders_per_s"] >= TARGETS["orders_per_s"] and s["tickets_consistent"],
        "ga_sales": s["ga_orders_per_s"] >= TARGETS["orders_per_s"] and s["ga_tickets_consistent"],
        "flush": fl["resync_s"] is not None
        and fl["resync_s"] <= TARGETS["flush_resync_s"]
        and fl["sold_rebuilt"],
        "door_http": online(d["http"]),
        "door_ws": online(d["ws"]),
        "door_batch": d["batch"]["seconds"] <= TARGETS["door_batch_s"] and d["batch"]["outcome_ok"],
        "desk": r["desk"]["desk_sales_per_s"] >= TARGETS["desk_sales_per_s"]
        and r["desk"]["desk_journal_consistent"],
        "wallet": r["wallet"]["wallet_debits_per_s"] >= TARGETS["wallet_debits_per_s"]
        and r["wallet"]["wallet_p99_ms"] <= TARGETS["wallet_p99_ms"]
        and r["wallet"]["wallet_ledger_consistent"]
        and r["wallet"]["wallet_hammer_exact"]
        and r["wallet"]["wallet_lowest_balance"] >= 0,
        "best_available": r["best"]["best_p99_ms"] <= TARGETS["best_p99_ms"]
        and r["best"]["best_no_seat_twice"],
    }


def table(r: dict[str, Any]) -> str:
    f, m, h, s, fl, b = (r[k] for k in ("fanout", "memory", "holds", "sales", "flush", "baseline"))
    pk, d = r["peak"], r["door"]
    best = pk["best"]
    v = r["verdicts"]
    ok = {True: "met", False: "MISSED"}
    rows = [
        (
            "fan-out p99 (ms), {} subs @ {}/s".format(f["clients"], f["rate"]),
            f"{f['p99_ms']} (p50 {f['p50_ms']}, max {f['max_ms']}; all delivered: "
            f"{f['every_change_everywhere']})",
            "<= 250",
            ok[v["fanout_p99"]],
        ),
        (
            "  changes delivered/s (20 ms window)",
            f"{f['changes_delivered_per_s']:.0f} in {f['frames_per_s']:.0f} frames/s,"
            f" {f['mean_frame_bytes']:.0f} B/frame, server {f['server_cpu_pct']} % CPU",
            "",
            "",
        ),
        (
            "fan-out peak frames/s (BATCH_MS=1) vs websockets.broadcast",
            f"{r['guichet_peak_frames_per_s']:.0f} / {b['frames_per_s']:.0f}"
            f" = {r['fanout_ratio']:.2f} (all delivered: {pk['all_delivered']})",
            ">= 0.7",
            ok[v["fanout_ratio"]],
        ),
        (
            "  Guichet at peak: CPU, us/frame, B/frame, changes/s",
            f"{best['server_cpu_pct']} %, {best['server_cpu_us_per_frame']} us,"
            f" {best['mean_frame_bytes']:.0f} B, {best['changes_delivered_per_s']:.0f}"
            f" ({best['changes_per_frame']} per frame); loadgen {best['loadgen_cpu_pct']} %",
            "",
            "",
        ),
        (
            "  baseline: CPU, us/frame, B/frame",
            f"{b['server_cpu_pct']} %, {b['server_cpu_us_per_frame']} us,"
            f" {b['mean_frame_bytes']:.0f} B; loadgen {b['loadgen_cpu_pct']} %",
            "",
            "",
        ),
        (
            "RSS per idle subscribed connection (KB)",
            f"{m['kb_per_connection']}",
            "<= 30",
            ok[v["memory"]],
        ),
        (
            "4-seat holds/s, 50 clients (HTTP)",
            f"{h['holds_per_s']} ({h['holds_refused']} refused,"
            f" consistent: {h['holds_consistent']})",
            ">= 2000",
            ok[v["holds"]],
        ),
        (
            "  bare redis-py holds_hold/s, ratio",
            f"{h['lua_holds_per_s']}, {h['http_vs_lua']:.2f}",
            "",
            "",
        ),
        (
            "4-seat holds/s, 2 server processes",
            f"{r['two_processes']['holds_per_s']} (p99 {r['two_processes']['hold_p99_ms']} ms,"
            f" consistent: {r['two_processes']['holds_consistent']})",
            ">= 2000",
            ok[v["holds_2"]],
        ),
        (
            f"journalled desk sales/s, {r['desk']['desk_registers']} registers",
            f"{r['desk']['desk_sales_per_s']} (p99 {r['desk']['desk_p99_ms']} ms; receipts"
            f" gap-free and chains verified: {r['desk']['desk_journal_consistent']})",
            ">= 500",
            ok[v["desk"]],
        ),
        (
            f"wallet debits/s, {r['wallet']['wallet_bars']} bars (HTTP): p99 (ms)",
            f"{r['wallet']['wallet_debits_per_s']} (p99 {r['wallet']['wallet_p99_ms']} ms; one"
            f" wallet hammered: exact {r['wallet']['wallet_hammer_exact']}, lowest balance"
            f" {r['wallet']['wallet_lowest_balance']}; ledger adds up:"
            f" {r['wallet']['wallet_ledger_consistent']})",
            ">= 1000, p99 <= 25",
            ok[v["wallet"]],
        ),
        (
            "best available, 4 seats of {} ({} clients, to half full): p99 (ms)".format(
                r["config"]["seats"], CLIENTS
            ),
            f"{r['best']['best_p99_ms']} (p50 {r['best']['best_p50_ms']},"
            f" {r['best']['best_per_s']}/s; no seat twice: {r['best']['best_no_seat_twice']})",
            "<= 20",
            ok[v["best_available"]],
        ),
        (
            "durable orders/s, 50 clients",
            f"{s['orders_per_s']} (tickets ok: {s['tickets_consistent']})",
            ">= 500",
            ok[v["sales"]],
        ),
        (
            "general-admission orders/s, 50 clients, one session",
            f"{s['ga_orders_per_s']} (p99 {s['ga_order_p99_ms']} ms, errors "
            f"{s['ga_orders_errors']}, tickets ok: {s['ga_tickets_consistent']})",
            ">= 500",
            ok[v["ga_sales"]],
        ),
        (
            "Redis flush: all resynced (s)",
            f"{fl['resync_s']} ({fl['resynced']}/{fl['clients']}, "
            f"sold rebuilt: {fl['sold_rebuilt']})",
            "<= 1.0",
            ok[v["flush"]],
        ),
    ]
    for key, label in (("http", "HTTP"), ("ws", "WebSocket")):
        x = d[key]
        rows.append(
            (
                f"door scans/s, 16 {label} scanners (p99 <= 25 ms)",
                f"{x['scans_per_s']}/s, p50 {x['p50_ms']} p99 {x['p99_ms']} ms"
                f" ({x['results']}, ok: {x['outcome_ok']})",
                ">= 1500",
                ok[v[f"door_{key}"]],
            )
        )
    for key, label in (("http", "HTTP"), ("ws", "WebSocket")):
        x = r["two_processes"]["door"][key]
        rows.append(
            (
                f"  the same, 2 server processes ({label})",
                f"{x['scans_per_s']}/s, p50 {x['p50_ms']} p99 {x['p99_ms']} ms"
                f" (ok: {x['outcome_ok']}, machine {x['machine_busy_pct']} % busy)",
                "",
                "",
            )
        )
    bt = d["batch"]
    rows.append(
        (
            f"door offline upload, {bt['scans']} scans (s)",
            f"{bt['seconds']} ({bt['summary'].get('accepted')} accepted,"
            f" {bt['summary'].get('conflicts')} conflicts, ok: {bt['outcome_ok']})",
            "<= 5",
            ok[v["door_batch"]],
        )
    )
    for st in r.get("stadium", []):
        rows.append(
            (
                f"  {st['seats']:,} seats: seat map cold / warm p99, snapshot, hold p50 (ms)",
                f"{st['map_cold_ms']} / {st['map_warm_p99_ms']} ({st['map_gzip_kb']} kB gz),"
                f" {st['snapshot_p50_ms']}, {st['hold_p50_ms']}",
                "",
                "",
            )
        )
    w0 = max(len(x[0]) for x in rows)
    w1 = max(len(x[1]) for x in rows)
    lines = [f"{'measure':<{w0}}  {'result':<{w1}}  target   verdict"]
    lines += [f"{a:<{w0}}  {b_:<{w1}}  {c:<7}  {d}" for a, b_, c, d in rows]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench")
    parser.add_argument("--quick", action="store_true", help="a smaller, faster run")
    parser.add_argument("--subscribers", type=int, help="override the number of subscribers")
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("DATABASE_URL and REDIS_URL must be set (`make bench` sets them)")
    cfg = dict(QUICK if args.quick else FULL)
    if args.subscribers:
        cfg["subscribers"] = args.subscribers
    nofile = env.raise_nofile()
    t_start = time.monotonic()
    load_before = os.getloadavg()
    results: dict[str, Any] = {
        "loadavg_before": [round(x, 2) for x in load_before],
        "config": cfg,
        "machine": machine(),
        "nofile": nofile,
        "command": "python -m loadtests.bench" + (" --quick" if args.quick else ""),
    }
    log(f"bench {'quick' if args.quick else 'full'}: {cfg}")
    env.run(env.recreate_services())
    env.prepare_database()
    results["postgres"] = env.run(pg_settings())
    server = env.Server()
    try:
        server.wait_ready()
        token = env.run(env.login(server.url))
        sessions = {
            k: env.run(env.create_session(server.url, token, cfg["seats"], k))
            for k in ("fanout", "holds", "sales", "peak", "best", "desk")
        }
        sessions["ga"] = env.run(
            env.create_session(server.url, token, 4 * cfg["orders"], "ga", seated=False)
        )
        log(
            f"server pid {server.pid} on {server.url}; sessions "
            f"{ {k: s.id for k, s in sessions.items()} }"
        )

        results["memory"] = bench_memory(cfg, sessions["fanout"])
        log(f"  memory: {results['memory']}")

        log("holds: 50 clients, contended 4-seat groups")
        results["holds"] = bench_holds(cfg, server, sessions["holds"])
        results["holds"].update(env.run(bare_lua(cfg)))
        results["holds"]["http_vs_lua"] = round(
            results["holds"]["holds_per_s"] / max(results["holds"]["lua_holds_per_s"], 1e-9), 3
        )
        log(f"  {results['holds']}")

        log(f"best available: {CLIENTS} clients take 4 seats each until the hall is half held")
        results["best"] = bench_best(server, sessions["best"])
        log(f"  {results['best']}")

        log(f"stadium: seat map, snapshot and a hold at {', '.join(map(str, STADIUM_SIZES))} seats")
        results["stadium"] = bench_stadium(server, token)
        log(f"  {results['stadium']}")

        log(f"sales: {cfg['orders']} holds, then 50 clients confirm orders")
        results["sales"] = bench_sales(cfg, server, sessions["sales"])
        log(f"  {results['sales']}")
        log(f"general admission: {cfg['orders']} holds of 4 places, 50 clients confirm at once")
        results["sales"].update(bench_ga_sales(cfg, server, sessions["ga"]))
        log(f"  ga: { {k: v for k, v in results['sales'].items() if k.startswith('ga_')} }")

        log(f"cash desk: {DESK_REGISTERS} registers sell {cfg['desk_sales']} journalled sales")
        results["desk"] = bench_desk(server, token, sessions["desk"], cfg["desk_sales"])
        log(f"  {results['desk']}")

        log(
            f"wallet: {WALLET_BARS} bars debit {cfg['wallet_debits']} times, then hammer one wallet"
        )
        results["wallet"] = bench_wallet(server, token, cfg["wallet_debits"])
        log(f"  {results['wallet']}")

        log("door: 16 HTTP scanners, 16 WebSocket scanners, a 10,000-scan offline upload")
        results["door"] = bench_door(cfg, server, token)
        for k in ("setup", "http", "ws", "batch"):
            log(f"  {k}: {results['door'][k]}")

        sent = mp.RawArray("d", cfg["seats"])
        viewers = ViewerPool(cfg["viewer_procs"], sent)
        log(f"connecting {cfg['subscribers']} subscribers for the fan-out")
        channel = f"seats:{sessions['fanout'].id}"
        log(f"  {viewers.connect(server.ws_url, cfg['subscribers'], channel)}")
        try:
            results.update(bench_fanout(cfg, server, sessions["fanout"], viewers, sent))
        finally:
            viewers.close()
    finally:
        server.stop()
    log("two processes: holds and the door's online scans with WEB_CONCURRENCY=2")
    results["two_processes"] = bench_two_processes(cfg)
    log(f"  {results['two_processes']}")
    log(f"statements: {cfg['statement_lines']} lines (alone: python -m loadtests.statements)")
    results["statements"] = bench_statements(cfg["statement_lines"], cfg["statement_scans"])
    log(f"  {results['statements']}")
    log(f"fan-out peak: {cfg['subscribers']} subscribers, GUICHET_BATCH_MS=1, rising rates")
    results["peak"] = bench_peak(cfg, sessions["peak"])
    log(f"baseline: websockets.broadcast to {cfg['subscribers']} clients")
    results["baseline"] = bench_baseline(cfg)
    log(f"  {results['baseline']}")
    peak = results["peak"]["frames_per_s"]
    results["guichet_peak_frames_per_s"] = peak
    results["fanout_ratio"] = round(peak / max(results["baseline"]["frames_per_s"], 1), 3)
    results["verdicts"] = verdicts(results)
    results["total_seconds"] = round(time.monotonic() - t_start, 1)
    results["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    print()
    print(table(results))
    print(f"total {results['total_seconds']} s")
    print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
