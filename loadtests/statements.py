"""The statements bench: ``python -m loadtests.statements [--lines N] [--scans M]`` alone,
or a phase of ``make bench``.

Fills its own database (``guichet_bench_statements``, kept between runs: a marker order
names the sizes it holds, so a second run with the same sizes reuses it) with N e-shop
ticket lines in 4-ticket orders over 30 days and M valid scans (each an entry), in SQL
(``generate_series``), then starts a server on it and measures: the sales statement of all
lines as CSV (compressed by the server, as httpx and browsers ask, and not) and as XLSX
(time, lines/s, the server's peak RSS sampled from /proc every 20 ms), ``/api/stats`` (the
first load after the bulk load apart, which brings the statistics' rollups up to date,
then p50/p99 of 30 loads) and the sales statement of one day (JSON page and CSV).
"""

from __future__ import annotations

import argparse
import json
import os
import threading
import time
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx

from loadtests import env

DB = "guichet_bench_statements"
DAYS = 30
START = datetime(2030, 1, 1, tzinfo=UTC)


def _marker(lines: int, scans: int) -> str:
    return f"bench-statements-v2-{lines}-{scans}"


async def _fill(url: str, lines: int, scans: int) -> bool:
    """Generate the rows unless the marker says they are there; whether it generated."""
    conn = await asyncpg.connect(url)
    try:
        marker = _marker(lines, scans)
        if await conn.fetchval("SELECT 1 FROM orders WHERE buyer_name = $1", marker):
            return False
        session = await conn.fetchrow(
            "SELECT s.id, t.id AS tariff FROM sessions s JOIN tariffs t ON t.session_id = s.id"
            " WHERE s.event_name LIKE 'Bench statements%' ORDER BY s.id DESC LIMIT 1"
        )
        orders = (lines + 3) // 4
        span = DAYS * 86400
        async with conn.transaction():
            await conn.execute(
                "INSERT INTO orders (idempotency_key, session_id, hold_token, channel,"
                " buyer_name, total_cents, currency, created_at)"
                " SELECT 'bench-' || g, $1, 'bench', 'web', 'Buyer ' || g, 6000, 'EUR',"
                " $2::timestamptz + make_interval(secs => (g::float8 * $3) / $4)"
                " FROM generate_series(1, $4) g",
                session["id"],
                START,
                span,
                orders,
            )
            first = await conn.fetchval("SELECT min(id) FROM orders WHERE hold_token = 'bench'")
            # The general-admission counter's trigger updates one row per ticket: a million
            # updates of one row in one transaction crawl (each walks the row's versions).
            # Off for the bulk insert (this database is the bench's own), counted once after.
            await conn.execute("ALTER TABLE tickets DISABLE TRIGGER tickets_ga_count")
            await conn.execute(
                "INSERT INTO tickets (order_id, session_id, tariff_id, price_cents, created_at)"
                " SELECT $1 + (g - 1) / 4, $2, $3, 1500, now() FROM generate_series(1, $4) g",
                first,
                session["id"],
                session["tariff"],
                lines,
            )
            await conn.execute("ALTER TABLE tickets ENABLE TRIGGER tickets_ga_count")
            await conn.execute(
                "UPDATE ga_counters SET sold = sold + $2 WHERE session_id = $1",
                session["id"],
                lines,
            )
            await conn.execute(
                "WITH s AS (INSERT INTO scans (ticket_id, session_id, device, door, nonce,"
                " result, scanned_at) SELECT t.id, t.session_id, 'bench', 'main', 'n' || t.id,"
                " 'valid', now() FROM tickets t WHERE t.session_id = $1 ORDER BY t.id LIMIT $2"
                " RETURNING id, device, nonce, received_at)"
                " INSERT INTO scan_nonces (device, nonce, scan_id, received_at)"
                " SELECT device, nonce, id, received_at FROM s",
                session["id"],
                scans,
            )
            await conn.execute(
                "INSERT INTO entries (session_id, ticket_id, scan_id, device, door, entered_at)"
                " SELECT session_id, ticket_id, id, device, door, scanned_at FROM scans"
                " WHERE device = 'bench'"
            )
            await conn.execute("UPDATE orders SET buyer_name = $1 WHERE id = $2", marker, first)
        await conn.execute("ANALYZE")
        return True
    finally:
        await conn.close()


async def _prepare(lines: int, scans: int) -> str:
    url = env.database_url(DB)
    admin = await asyncpg.connect(env.database_url("postgres"))
    try:
        if await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB):
            if await _holds(url, _marker(lines, scans)):
                return url
            await admin.execute(f"DROP DATABASE {DB} WITH (FORCE)")
        await admin.execute(f"CREATE DATABASE {DB}")
    finally:
        await admin.close()
    return url


async def _holds(url: str, marker: str) -> bool:
    """Whether the kept database holds the rows of these sizes (and only those)."""
    conn = await asyncpg.connect(url)
    try:
        return bool(
            await conn.fetchval(
                "SELECT 1 FROM pg_tables WHERE tablename = 'orders' AND EXISTS"
                " (SELECT 1 FROM orders WHERE buyer_name = $1)",
                marker,
            )
        )
    except asyncpg.UndefinedTableError:
        return False
    finally:
        await conn.close()


class RssPeak:
    """The server's peak RSS over a measurement, sampled from /proc in a thread."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.start = pid, 0, env.rss_kb(pid)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, env.rss_kb(self.pid))

    def __enter__(self) -> RssPeak:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()


def _download(
    http: httpx.Client,
    path: str,
    params: dict[str, str],
    pid: int,
    lines: int,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    t0 = time.perf_counter()
    size = 0
    with RssPeak(pid) as rss, http.stream("GET", path, params=params, headers=headers) as r:
        r.raise_for_status()
        for chunk in r.iter_bytes():
            size += len(chunk)
    seconds = time.perf_counter() - t0
    return {
        "seconds": round(seconds, 2),
        "lines_per_s": round(lines / seconds),
        "mb": round(size / 1e6, 1),
        "rss_start_mb": round(rss.start / 1024, 1),
        "rss_peak_mb": round(rss.peak / 1024, 1),
    }


def _timed(http: httpx.Client, path: str, params: dict[str, str], n: int) -> dict[str, Any]:
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        http.get(path, params=params).raise_for_status()
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return {"p50_ms": round(times[len(times) // 2], 1), "p99_ms": round(times[-1], 1), "n": n}


def measure(server: env.Server, token: str, lines: int) -> dict[str, Any]:
    whole = {"from": "2030-01-01", "to": "2030-02-01", "tz": "UTC"}
    day = {"from": "2030-01-10", "to": "2030-01-10", "tz": "UTC"}
    headers = {"Authorization": f"Bearer {token}"}
    out: dict[str, Any] = {"lines": lines}
    with httpx.Client(base_url=server.url, headers=headers, timeout=600) as http:
        out["csv"] = _download(http, "/api/statements/sales.csv", whole, server.pid, lines)
        env_log(f"  csv (gzip, as httpx and browsers ask): {out['csv']}")
        plain = {"Accept-Encoding": "identity"}
        out["csv_identity"] = _download(
            http, "/api/statements/sales.csv", whole, server.pid, lines, plain
        )
        env_log(f"  csv (not compressed): {out['csv_identity']}")
        out["xlsx"] = _download(http, "/api/statements/sales.xlsx", whole, server.pid, lines)
        env_log(f"  xlsx: {out['xlsx']}")
        year = {"from": "2030-01-01", "to": "2030-12-31", "tz": "UTC"}
        # The first load after the bulk load recomputes every block and quarter of the
        # rollups (docs/accounting.md); timed apart, then the steady loads.
        out["stats_first"] = _timed(http, "/api/stats", year, 1)
        out["stats"] = _timed(http, "/api/stats", year, 30)
        out["day_json"] = _timed(http, "/api/statements/sales", {**day, "limit": "100"}, 10)
        out["day_csv"] = _timed(http, "/api/statements/sales.csv", day, 10)
    return out


def env_log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", flush=True)


def bench_statements(lines: int, scans: int) -> dict[str, Any]:
    """Fill (or reuse) the database, start a server on it, measure; stops the server."""
    url = env.run(_prepare(lines, scans))
    extra = {"DATABASE_URL": url}
    env.prepare_database(url)
    server = env.Server(extra)
    try:
        server.wait_ready()
        token = env.run(env.login(server.url))
        conn_check = env.run(_has_session(url))
        if not conn_check:
            env.run(env.create_session(server.url, token, lines, "statements", seated=False))
        t0 = time.monotonic()
        made = env.run(_fill(url, lines, scans))
        env_log(
            f"statements: data {'generated' if made else 'reused'} in {time.monotonic() - t0:.1f} s"
        )
        result = measure(server, token, lines)
        result["generated"] = made
        return result
    finally:
        server.stop()


async def _has_session(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        found = await conn.fetchval(
            "SELECT 1 FROM sessions WHERE event_name LIKE 'Bench statements%' LIMIT 1"
        )
        return bool(found)
    finally:
        await conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m loadtests.statements")
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--scans", type=int, default=500_000)
    args = parser.parse_args()
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        raise SystemExit("DATABASE_URL and REDIS_URL must be set (`make bench` sets them)")
    result = bench_statements(args.lines, args.scans)
    result["loadavg"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result, default=str))


if __name__ == "__main__":
    main()
