"""The bench's own services and server: database ``guichet_bench``, a private Redis db
number, a real ``python -m server.cli serve`` process, and sessions made through the API.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import resource
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from server.platform import redis_client

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = os.environ.get("GUICHET_BENCH_DB", "guichet_bench")
BENCH_REDIS_DB = int(os.environ.get("GUICHET_BENCH_REDIS_DB", "5"))
ADMIN = ("bench-admin", "bench-admin-password")


def raise_nofile() -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def database_url(name: str = BENCH_DB) -> str:
    parts = urlsplit(os.environ["DATABASE_URL"])
    return urlunsplit(parts._replace(path="/" + name))


def redis_url() -> str:
    """Database ``BENCH_REDIS_DB`` of a standalone Redis, or the whole cluster."""
    url = os.environ["REDIS_URL"]
    if redis_client.is_cluster_url(url):
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{BENCH_REDIS_DB}"))


def _host_is_local(url: str) -> None:
    if redis_client.is_cluster_url(url):
        hosts = [host for host, _ in redis_client.parse_cluster_url(url).nodes]
    else:
        hosts = [urlsplit(url).hostname or ""]
    for host in hosts:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit(f"the bench only talks to 127.0.0.1, not {host!r}")


async def recreate_services() -> None:
    _host_is_local(os.environ["DATABASE_URL"])
    _host_is_local(os.environ["REDIS_URL"])
    conn = await asyncpg.connect(database_url("postgres"))
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {BENCH_DB}")
        fsync = await conn.fetchval("SHOW fsync")
        sync_commit = await conn.fetchval("SHOW synchronous_commit")
    finally:
        await conn.close()
    if fsync != "on" or sync_commit == "off":
        print(f"WARNING: postgres fsync={fsync} synchronous_commit={sync_commit}", flush=True)
    client = redis_client.connect(redis_url())
    try:
        await client.flushdb()
    finally:
        await client.aclose()


def _env() -> dict[str, str]:
    return {
        **os.environ,
        "DATABASE_URL": database_url(),
        "REDIS_URL": redis_url(),
        "LOG_LEVEL": os.environ.get("GUICHET_BENCH_LOG_LEVEL", "INFO"),
        # the sale path itself: a paying buyer's order waits for its provider, which a
        # load generator is not (docs/payments.md)
        "GUICHET_PAYMENT_PROVIDER": "none",
    }


def prepare_database(url: str | None = None) -> None:
    """Migrate the bench database (or ``url``) and create the admin (``check=False``: the
    admin of a kept database exists already)."""
    for args in (["migrate"], ["create-user", ADMIN[0], ADMIN[1], "admin"]):
        subprocess.run(
            [sys.executable, "-m", "server.cli", *args],
            cwd=ROOT,
            env={**_env(), **({"DATABASE_URL": url} if url else {})},
            check=url is None or args[0] == "migrate",
            capture_output=True,
        )


class Server:
    """A real ``guichet serve`` process on a free port."""

    def __init__(self, extra_env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        self.log_path = ROOT / ".data" / f"bench-server-{self.port}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env={**_env(), **(extra_env or {})},
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"server not ready: {self.log_path.read_text()[-3000:]}")

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._log.close()


RAW = ("--format", "raw", "--output")


def profile(pid: int, name: str) -> subprocess.Popen[bytes] | None:
    """With ``BENCH_PYSPY=<dir>``, py-spy samples the server process (its workers too) until
    :func:`stop_profile`, into ``<dir>/<name>.txt`` (collapsed stacks: one line per stack
    and its sample count), at ``BENCH_PYSPY_RATE`` samples/s (py-spy's 100 by default);
    without it, nothing."""
    out_dir = os.environ.get("BENCH_PYSPY")
    if not out_dir:
        return None
    Path(out_dir).mkdir(parents=True, exist_ok=True)
    spy = str(Path(sys.executable).with_name("py-spy"))
    output = f"{out_dir}/{name}.txt"
    return subprocess.Popen(
        [
            *(spy, "record", "--pid", str(pid), "--subprocesses", "--nonblocking"),
            *("--rate", os.environ.get("BENCH_PYSPY_RATE", "100"), *RAW, output),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_profile(profiler: subprocess.Popen[bytes] | None) -> None:
    if profiler is not None:
        profiler.send_signal(signal.SIGINT)  # py-spy writes its file on Ctrl-C
        profiler.wait(30)


def rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def system_busy() -> tuple[float, float]:
    """(busy, total) jiffies of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        fields = [int(x) for x in f.readline().split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return float(total - idle), float(total)


def cpu_seconds(pid: int) -> float:
    """utime + stime of a process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class BenchSession:
    id: int
    seat_ids: list[str]
    tariff_ids: list[int]


async def login(base_url: str) -> str:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        r = await http.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        r.raise_for_status()
        return str(r.json()["token"])


@contextlib.contextmanager
def fresh_server(extra_env: dict[str, str] | None = None) -> Iterator[tuple[Server, str]]:
    """Fresh bench databases and a server process on them, ready, with the bench admin's
    token; the server is stopped on exit."""
    run(recreate_services())
    prepare_database()
    server = Server(extra_env)
    try:
        server.wait_ready()
        yield server, run(login(server.url))
    finally:
        server.stop()


async def create_session(
    base_url: str, token: str, n_seats: int, label: str, seated: bool = True
) -> BenchSession:
    """A seated session on a fresh room with a ``grid`` plan, through the HTTP API; or a
    general-admission one of ``n_seats`` places."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=60) as http:
        venue = (await http.post("/api/venues", json={"name": f"Bench {label}"})).json()
        room = (await http.post(f"/api/venues/{venue['id']}/rooms", json={"name": label})).json()
        plan = grid(n_seats, 100) if seated else None
        if plan is not None:
            r = await http.put(f"/api/rooms/{room['id']}/seat-plan", json=plan_to_document(plan))
            assert r.status_code == 201, r.text
        r = await http.post(
            "/api/sessions",
            json={
                "room_id": room["id"],
                "event_name": f"Bench {label} {uuid.uuid4().hex[:6]}",
                "starts_at": "2030-01-01T20:00:00+00:00",
                "ends_at": "2030-01-01T22:00:00+00:00",
                "seated": seated,
                "capacity": None if seated else n_seats,
                "sales_open": True,
                "tariffs": [{"name": "Full", "price_cents": 1500, "currency": "EUR"}],
            },
        )
        assert r.status_code == 201, r.text
        detail = r.json()
    seat_ids = [s.id for s in plan.seats] if plan is not None else []
    return BenchSession(detail["id"], seat_ids, [t["id"] for t in detail["tariffs"]])


def run(coro):
    return asyncio.run(coro)
