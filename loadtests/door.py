"""Door bench (issue 3): online scans over HTTP and over the WebSocket, and an offline upload.

Setup, all through the API: a seated session starting in 30 minutes (so its codes are valid
now), tickets sold by holding and buying groups of 4 seats, their signed codes fetched as
text (``GET /api/tickets/{id}/code``), and an ``entry_check`` user (``POST /api/users`` as
admin) whose token the scanners use.

1. HTTP: 16 keep-alive scanner connections (``loadtests.httpclient``) in 2 processes at
   ``nice 10`` post ``/api/scan`` one at a time; the scans mix first scans (valid) and
   re-scans of tickets already scanned (refused ``already_entered``).
2. WebSocket: the same with 16 picows clients (``auth`` then ``scan`` -> ``scan_result``).
3. Offline: one ``POST /api/scan/batch`` of 10,000 scans (fresh tickets, and a share of
   tickets already admitted online by another device: ``already_entered`` + a conflict).

Every phase checks its outcome: exactly one valid scan per distinct ticket, every re-scan
refused ``already_entered``, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
import os
import random
import resource
import time
import uuid
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import httpx

from loadtests import env
from loadtests.httpclient import HttpConnection
from loadtests.sales_load import run_load
from seatmap.generate import grid
from seatmap.plan import plan_to_document

LOADGEN_NICE = 10
SCANNER = ("bench-door", "bench-door-password")

DOOR_FULL = {
    "door_clients": 16,
    "door_procs": 2,
    "door_fresh": 3000,  # first scans per online phase (distinct tickets)
    "door_dups": 1500,  # re-scans of tickets already scanned, per online phase
    "door_max_seconds": 15,
    "batch_scans": 10_000,
    "batch_fresh": 9000,  # the rest re-scans tickets admitted online (conflicts)
}
DOOR_QUICK = {**DOOR_FULL, "door_fresh": 2000, "door_dups": 1000}


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def pct(data: list[float], p: float) -> float:
    if not data:
        return 0.0
    s = sorted(data)
    return round(s[min(len(s) - 1, int(p / 100 * len(s)))], 1)


# -- setup -------------------------------------------------------------------------------


async def create_door_session(base_url: str, token: str, n_seats: int) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        venue = (await http.post("/api/venues", json={"name": "Bench door"})).json()
        room = (await http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "door"})).json()
        plan = grid(n_seats, 100)
        r = await http.put(f"/api/rooms/{room['id']}/seat-plan", json=plan_to_document(plan))
        assert r.status_code == 201, r.text
        start = datetime.now(UTC) + timedelta(minutes=30)
        r = await http.post(
            "/api/sessions",
            json={
                "room_id": room["id"],
                "event_name": f"Bench door {uuid.uuid4().hex[:6]}",
                "starts_at": start.isoformat(),
                "ends_at": (start + timedelta(hours=2)).isoformat(),
                "seated": True,
                "sales_open": True,
                "tariffs": [{"name": "Full", "price_cents": 1500, "currency": "EUR"}],
            },
        )
        assert r.status_code == 201, r.text
        detail = r.json()
        r = await http.post(
            "/api/users",
            json={"username": SCANNER[0], "password": SCANNER[1], "roles": ["entry_check"]},
        )
        assert r.status_code == 201, r.text
        r = await http.post(
            "/api/auth/login", json={"username": SCANNER[0], "password": SCANNER[1]}
        )
        r.raise_for_status()
        scanner_token = str(r.json()["token"])
    return {
        "id": detail["id"],
        "seat_ids": [s.id for s in plan.seats],
        "tariff_id": detail["tariffs"][0]["id"],
        "scanner_token": scanner_token,
    }


def sell(port: int, session: dict[str, Any], n_tickets: int) -> dict[str, Any]:
    """Hold then buy groups of 4 seats over HTTP (the bench's load client)."""
    seats = session["seat_ids"]
    groups = [seats[4 * g : 4 * g + 4] for g in range(n_tickets // 4)]
    conns = 32
    t0 = time.monotonic()
    held = run_load("hold", port, session["id"], [groups[c::conns] for c in range(conns)], 2, 60)
    jobs = [(t, s, session["tariff_id"]) for t, s in held.successes]
    sold = run_load("order", port, session["id"], [jobs[c::conns] for c in range(conns)], 2, 90)
    return {
        "held": held.ok,
        "orders": sold.ok,
        "errors": held.errors + held.refused + sold.errors,
        "error_samples": held.error_samples + sold.error_samples,
        "seconds": round(time.monotonic() - t0, 1),
    }


async def ticket_ids(session_id: int) -> list[int]:
    conn = await asyncpg.connect(env.database_url())
    try:
        rows = await conn.fetch(
            "SELECT id FROM tickets WHERE session_id = $1 AND status = 'active' ORDER BY id",
            session_id,
        )
    finally:
        await conn.close()
    return [r["id"] for r in rows]


async def _fetch_codes(port: int, token: str, ids: list[int], conns: int) -> dict[int, str]:
    headers = {"Authorization": f"Bearer {token}"}
    pool = [await HttpConnection.open("127.0.0.1", port, headers) for _ in range(conns)]
    codes: dict[int, str] = {}

    async def worker(conn: HttpConnection, mine: list[int]) -> None:
        for tid in mine:
            status, body = await conn.request("GET", f"/api/tickets/{tid}/code")
            if status == 200:
                codes[tid] = body.decode()

    await asyncio.gather(*(worker(c, ids[i::conns]) for i, c in enumerate(pool)))
    for c in pool:
        c.close()
    return codes


def _codes_proc(queue: Any, port: int, token: str, ids: list[int]) -> None:
    os.nice(LOADGEN_NICE)
    try:
        queue.put(asyncio.run(_fetch_codes(port, token, ids, 16)))
    except BaseException as exc:  # report instead of hanging the parent
        queue.put({"error": repr(exc)})


def fetch_codes(port: int, token: str, ids: list[int], procs: int = 2) -> dict[int, str]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    ps = [
        ctx.Process(target=_codes_proc, args=(queue, port, token, ids[i::procs]), daemon=True)
        for i in range(procs)
    ]
    for p in ps:
        p.start()
    codes: dict[int, str] = {}
    for _ in ps:
        part = queue.get(timeout=120)
        if "error" in part:
            raise RuntimeError(f"fetching codes: {part['error']}")
        codes.update(part)
    for p in ps:
        p.join(10)
    return codes


# -- online scans ------------------------------------------------------------------------


def mixed_jobs(codes: list[str], dups: int, clients: int, rng: random.Random) -> list[list[str]]:
    """First scans of ``codes`` with ``dups`` re-scans of codes scanned earlier (about 1,000
    scans before, so usually by another client at another door), dealt round-robin."""
    seq: list[str] = []
    dup_every = len(codes) / max(dups, 1)
    next_dup = dup_every
    for i, code in enumerate(codes):
        seq.append(code)
        while dups and i + 1 >= next_dup and i > 0:
            seq.append(codes[max(0, i - rng.randrange(200, 1200))])
            next_dup += dup_every
            dups -= 1
    return [seq[c::clients] for c in range(clients)]


class Tally:
    def __init__(self) -> None:
        self.results: Counter[str] = Counter()
        self.lat_ms: list[float] = []
        self.first = 0.0
        self.last = 0.0
        self.errors: list[str] = []
        self.cpu_s = 0.0

    def add(self, t0: float, t1: float, result: dict[str, Any] | None, error: str = "") -> None:
        self.lat_ms.append((t1 - t0) * 1000)
        self.last = max(self.last, t1)
        if result is None:
            self.results["error"] += 1
            if len(self.errors) < 5:
                self.errors.append(error)
        else:
            self.results[result.get("reason") or result.get("result", "?")] += 1

    def reply(self) -> dict[str, Any]:
        return {
            "results": dict(self.results),
            "lat_ms": self.lat_ms,
            "first": self.first,
            "last": self.last,
            "errors": self.errors,
            "cpu_s": self.cpu_s,
        }


async def _http_scanner(
    port: int,
    token: str,
    sid: int,
    jobs: list[list[str]],
    index0: int,
    start_at: float,
    limit: float,
) -> dict[str, Any]:
    headers = {"Authorization": f"Bearer {token}"}
    conns = [await HttpConnection.open("127.0.0.1", port, headers) for _ in jobs]
    tally = Tally()
    await asyncio.sleep(max(start_at - time.monotonic(), 0))
    cpu0 = _cpu()
    tally.first = time.monotonic()
    deadline = tally.first + limit

    async def one(k: int, conn: HttpConnection, codes: list[str]) -> None:
        door = f"door-{k % 4}"
        device = f"http-{k}"
        for code in codes:
            if time.monotonic() > deadline:
                return
            body = {
                "code": code,
                "nonce": uuid.uuid4().hex[:16],
                "door": door,
                "device": device,
                "session_id": sid,
            }
            t0 = time.monotonic()
            status, doc = await conn.post_json("/api/scan", body)
            t1 = time.monotonic()
            if status == 200:
                tally.add(t0, t1, doc)
            else:
                tally.add(t0, t1, None, f"{status} {doc}")

    await asyncio.gather(
        *(one(index0 + i, c, j) for i, (c, j) in enumerate(zip(conns, jobs, strict=True)))
    )
    tally.cpu_s = _cpu() - cpu0
    for c in conns:
        c.close()
    return tally.reply()


async def _ws_scanner(
    url: str,
    token: str,
    sid: int,
    jobs: list[list[str]],
    index0: int,
    start_at: float,
    limit: float,
) -> dict[str, Any]:
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    class Client(WSListener):
        def __init__(self) -> None:
            self.transport: WSTransport | None = None
            self.waiter: asyncio.Future[dict[str, Any]] | None = None

        def on_ws_connected(self, transport: WSTransport) -> None:
            self.transport = transport

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is not WSMsgType.TEXT:
                return
            msg = json.loads(frame.get_payload_as_bytes())
            w = self.waiter
            if w is not None and not w.done():
                self.waiter = None
                w.set_result(msg)

        def on_ws_disconnected(self, transport: WSTransport) -> None:
            w = self.waiter
            if w is not None and not w.done():
                w.set_exception(ConnectionError("disconnected"))

        async def ask(self, message: dict[str, Any]) -> dict[str, Any]:
            assert self.transport is not None
            self.waiter = asyncio.get_running_loop().create_future()
            self.transport.send(WSMsgType.TEXT, json.dumps(message).encode())
            return await self.waiter

    clients: list[Client] = []
    for _ in jobs:
        _, listener = await ws_connect(
            Client, url, extra_headers={"Sec-WebSocket-Protocol": "guichet.json"}
        )
        client = cast(Client, listener)  # ws_connect returns the listener its factory made
        reply = await client.ask({"type": "auth", "token": token})
        if reply.get("type") != "authenticated":
            raise RuntimeError(f"auth refused: {reply}")
        clients.append(client)
    tally = Tally()
    await asyncio.sleep(max(start_at - time.monotonic(), 0))
    cpu0 = _cpu()
    tally.first = time.monotonic()
    deadline = tally.first + limit

    async def one(k: int, client: Client, codes: list[str]) -> None:
        door = f"door-{k % 4}"
        device = f"ws-{k}"
        for n, code in enumerate(codes):
            if time.monotonic() > deadline:
                return
            msg = {
                "type": "scan",
                "id": n,
                "code": code,
                "nonce": uuid.uuid4().hex[:16],
                "door": door,
                "device": device,
                "session_id": sid,
            }
            t0 = time.monotonic()
            reply = await client.ask(msg)
            t1 = time.monotonic()
            if reply.get("type") == "scan_result" and reply.get("id") == n:
                tally.add(t0, t1, reply)
            else:
                tally.add(t0, t1, None, json.dumps(reply)[:300])

    await asyncio.gather(
        *(one(index0 + i, c, j) for i, (c, j) in enumerate(zip(clients, jobs, strict=True)))
    )
    tally.cpu_s = _cpu() - cpu0
    for c in clients:
        if c.transport is not None:
            c.transport.disconnect()
    return tally.reply()


def _scan_proc(queue: Any, kind: str, *args: Any) -> None:
    os.nice(LOADGEN_NICE)
    try:
        fn = _http_scanner if kind == "http" else _ws_scanner
        queue.put(asyncio.run(fn(*args)))
    except BaseException as exc:  # report instead of hanging the parent
        queue.put({"fatal": repr(exc)})


def scan_phase(
    kind: str,
    server: env.Server,
    session: dict[str, Any],
    jobs: list[list[str]],
    procs: int,
    limit: float,
) -> dict[str, Any]:
    ctx = mp.get_context("fork")
    queue = ctx.Queue()
    start_at = time.monotonic() + 1.5
    target = server.port if kind == "http" else server.ws_url
    ps = []
    for i in range(procs):
        mine = jobs[i::procs]
        args = (target, session["scanner_token"], session["id"], mine, i * 100, start_at, limit)
        ps.append(ctx.Process(target=_scan_proc, args=(queue, kind, *args), daemon=True))
    for p in ps:
        p.start()
    # server CPU over the busy window: sampled at start_at and when the last process is done
    time.sleep(max(start_at - time.monotonic(), 0))
    profiler = env.profile(server.pid, f"door-{kind}")
    s0, t0, b0 = env.cpu_seconds(server.pid), time.monotonic(), env.system_busy()
    replies = [queue.get(timeout=limit + 120) for _ in ps]
    s1, t1, b1 = env.cpu_seconds(server.pid), time.monotonic(), env.system_busy()
    env.stop_profile(profiler)
    for p in ps:
        p.join(10)
    fatal = [r["fatal"] for r in replies if "fatal" in r]
    if fatal:
        raise RuntimeError(f"{kind} scanners failed: {fatal}")
    results: Counter[str] = Counter()
    lat: list[float] = []
    errors: list[str] = []
    for r in replies:
        results.update(r["results"])
        lat += r["lat_ms"]
        errors += r["errors"]
    elapsed = max(r["last"] for r in replies) - min(r["first"] for r in replies)
    n = sum(results.values())
    wall = max(t1 - t0, 1e-9)
    return {
        "clients": len(jobs),
        "scans": n,
        "results": dict(results),
        "seconds": round(elapsed, 2),
        "scans_per_s": round(n / elapsed, 1),
        "p50_ms": pct(lat, 50),
        "p99_ms": pct(lat, 99),
        "max_ms": pct(lat, 100),
        "error_samples": errors[:5],
        "server_cpu_pct": round(100 * (s1 - s0) / wall, 1),
        "server_cpu_us_per_scan": round(1e6 * (s1 - s0) / max(n, 1)),
        "loadgen_cpu_pct": round(100 * sum(r["cpu_s"] for r in replies) / elapsed, 1),
        "machine_busy_pct": round(100 * (b1[0] - b0[0]) / max(b1[1] - b0[1], 1), 1),
    }


def check_online(res: dict[str, Any], fresh: int, dups: int) -> None:
    r = res["results"]
    res["expected"] = {"valid": fresh, "already_entered": dups}
    res["outcome_ok"] = res["scans"] == fresh + dups and r == {
        k: v for k, v in (("valid", fresh), ("already_entered", dups)) if v
    }


# -- offline upload ----------------------------------------------------------------------


async def upload_batch(
    port: int, token: str, sid: int, fresh: list[str], again: list[str]
) -> dict[str, Any]:
    """One offline upload: scans spread over the last 20 minutes (device clock)."""
    now = datetime.now(UTC)
    codes = fresh + again
    random.Random(5).shuffle(codes)
    span = 20 * 60 / max(len(codes), 1)
    scans = [
        {
            "code": code,
            "nonce": uuid.uuid4().hex[:16],
            "door": "offline-gate",
            "scanned_at": (now - timedelta(seconds=20 * 60 - i * span)).isoformat(),
            "session_id": sid,
        }
        for i, code in enumerate(codes)
    ]
    body = json.dumps({"device": "offline-1", "scans": scans}).encode()
    conn = await HttpConnection.open("127.0.0.1", port, {"Authorization": f"Bearer {token}"})
    try:
        t0 = time.monotonic()
        status, raw = await conn.request("POST", "/api/scan/batch", body)
        seconds = time.monotonic() - t0
    finally:
        conn.close()
    doc = json.loads(raw) if raw else {}
    summary = {k: v for k, v in doc.items() if k != "results"} if status == 200 else doc
    reasons = Counter((r.get("reason") or r.get("result")) for r in doc.get("results", []))
    return {
        "status": status,
        "scans": len(scans),
        "body_bytes": len(body),
        "seconds": round(seconds, 2),
        "summary": summary,
        "results": dict(reasons),
    }


def bench_batch(
    server: env.Server, session: dict[str, Any], fresh: list[str], again: list[str]
) -> dict[str, Any]:
    s0 = env.cpu_seconds(server.pid)
    res = env.run(upload_batch(server.port, session["scanner_token"], session["id"], fresh, again))
    res["server_cpu_s"] = round(env.cpu_seconds(server.pid) - s0, 2)
    s = res["summary"]
    # An offline scan earlier than the online entry of its ticket takes the entry over (both
    # let someone in); a later one is already_entered. Either way one conflict per ticket.
    r = res["results"]
    res["outcome_ok"] = (
        res["status"] == 200
        and s.get("accepted") == len(fresh) + len(again)
        and s.get("conflicts") == len(again)
        and set(r) <= {"valid", "already_entered"}
        and r.get("valid", 0) >= len(fresh)
    )
    return res


# -- the whole door bench ----------------------------------------------------------------


def bench_door(
    cfg: dict[str, Any],
    server: env.Server,
    admin_token: str,
    ways: tuple[str, ...] = ("http", "ws", "batch"),
) -> dict[str, Any]:
    clients, procs = cfg["door_clients"], cfg["door_procs"]
    fresh, dups = cfg["door_fresh"], cfg["door_dups"]
    batch_fresh = cfg["batch_fresh"]
    batch_again = cfg["batch_scans"] - batch_fresh
    n_tickets = 2 * fresh + batch_fresh
    n_tickets += -n_tickets % 4
    t0 = time.monotonic()
    session = env.run(create_door_session(server.url, admin_token, n_tickets))
    sold = sell(server.port, session, n_tickets)
    ids = env.run(ticket_ids(session["id"]))
    t_codes = time.monotonic()
    codes_by_id = fetch_codes(server.port, admin_token, ids)
    codes_s = time.monotonic() - t_codes
    codes = [codes_by_id[i] for i in ids if i in codes_by_id]
    if len(codes) < 2 * fresh + batch_fresh:
        raise RuntimeError(f"door setup: {len(codes)} codes, sold {sold}")
    setup = {
        "session_id": session["id"],
        "tickets": len(ids),
        "codes": len(codes),
        "code_bytes": len(codes[0]),
        "sell": sold,
        "codes_seconds": round(codes_s, 1),
        "codes_per_s": round(len(codes) / codes_s, 1),
        "setup_seconds": round(time.monotonic() - t0, 1),
    }
    rng = random.Random(3)
    http_codes, ws_codes = codes[:fresh], codes[fresh : 2 * fresh]
    batch_codes = codes[2 * fresh : 2 * fresh + batch_fresh]

    out: dict[str, Any] = {"setup": setup}
    limit = cfg["door_max_seconds"]
    for way, mine in (("http", http_codes), ("ws", ws_codes)):
        if way in ways:
            jobs = mixed_jobs(mine, dups, clients, rng)
            out[way] = scan_phase(way, server, session, jobs, procs, limit)
            check_online(out[way], fresh, dups)
    if "batch" in ways:
        # the offline scanner also scanned tickets already admitted online at other doors
        again = rng.sample(http_codes + ws_codes, batch_again)
        out["batch"] = bench_batch(server, session, batch_codes, again)
    return out


def main() -> None:
    """``python -m loadtests.door [--quick] [--only http|ws|batch] [--workers N]``: the door
    phase alone (or one of its parts), with N server processes (``WEB_CONCURRENCY``), on
    its own fresh database and server(s) (as ``make bench`` would run it)."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m loadtests.door")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", choices=("http", "ws", "batch"), action="append")
    parser.add_argument("--workers", type=int, default=1, help="server processes")
    args = parser.parse_args()
    env.raise_nofile()
    ways = tuple(args.only or ("http", "ws", "batch"))
    with env.fresh_server({"WEB_CONCURRENCY": str(args.workers)}) as (server, token):
        out = bench_door(DOOR_QUICK if args.quick else DOOR_FULL, server, token, ways)
    for key in ways:
        print(key, json.dumps(out[key]), flush=True)


if __name__ == "__main__":
    main()
