"""Test support: real Postgres and Redis for tests, and real server processes.

``make test`` provides ``DATABASE_URL`` and ``REDIS_URL``; the tests use their own database
(``guichet_test``, recreated each run) and Redis database 1 (flushed each run).
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import websockets

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from server.platform import redis_client

ROOT = Path(__file__).resolve().parent.parent
# Parallel test runs (one per developer) can pick their own database and Redis db number.
TEST_DB = os.environ.get("GUICHET_TEST_DB", "guichet_test")
TEST_REDIS_DB = int(os.environ.get("GUICHET_TEST_REDIS_DB", "1"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def testing_database_url() -> str:
    base = os.environ["DATABASE_URL"]
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path="/" + TEST_DB))


def testing_redis_url() -> str:
    """The tests' Redis: database ``TEST_REDIS_DB`` of a standalone server, or the whole
    cluster (a cluster has database 0 only; ``make test-cluster`` starts a private one)."""
    url = os.environ["REDIS_URL"]
    if redis_client.is_cluster_url(url):
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{TEST_REDIS_DB}"))


def on_cluster() -> bool:
    return redis_client.is_cluster_url(os.environ.get("REDIS_URL", ""))


def cluster_nodes() -> list[tuple[str, int]]:
    """The seed nodes of the cluster REDIS_URL names."""
    return list(redis_client.parse_cluster_url(os.environ["REDIS_URL"]).nodes)


def redis_connect() -> redis_client.Client:
    """An asyncio client to the tests' Redis (standalone or cluster)."""
    return redis_client.connect(testing_redis_url())


def redis_connect_sync() -> redis_client.SyncClient:
    return redis_client.connect_sync(testing_redis_url())


async def recreate_test_database() -> None:
    parts = urlsplit(os.environ["DATABASE_URL"])
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f"DROP DATABASE IF EXISTS {TEST_DB} WITH (FORCE)")
        await conn.execute(f"CREATE DATABASE {TEST_DB}")
    finally:
        await conn.close()


class ServerProcess:
    """A real ``guichet serve`` process on a free port."""

    def __init__(self, extra_env: dict[str, str] | None = None, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ws_url = f"ws://127.0.0.1:{self.port}/ws"
        env = {
            **os.environ,
            "DATABASE_URL": testing_database_url(),
            "REDIS_URL": testing_redis_url(),
            "LOG_LEVEL": "WARNING",
            "GUICHET_SWEEP_MS": "100",
            "GUICHET_KEY_RELOAD_S": "1",  # a rotated key signs after 2 s, not a minute
            # The suite signs in from one address, and its generated requests fail sign-ins
            # by the hundred: tests/identity/test_throttle.py runs a server with the limits.
            "GUICHET_SIGNIN_USER_LIMIT": "100000",
            "GUICHET_SIGNIN_ADDRESS_LIMIT": "100000",
            # Shop orders are sold at once, unpaid, as before online payments: the servers
            # of tests/payments and the shop's payment test turn the test provider on.
            "GUICHET_PAYMENT_PROVIDER": "none",
            **(extra_env or {}),
        }
        self.log_path = ROOT / ".data" / f"test-server-{self.port}.log"
        self.log_path.parent.mkdir(exist_ok=True)
        self._log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "server.cli", "serve", "--port", str(self.port)],
            cwd=ROOT,
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

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


@dataclass
class SessionInfo:
    id: int
    seat_ids: list[str]
    tariff_ids: list[int]
    detail: dict[str, Any] = field(default_factory=dict)


class Api:
    """A thin client for the HTTP API used by the tests."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.http = httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30)

    async def close(self) -> None:
        await self.http.aclose()

    async def __aenter__(self) -> Api:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def create_session(
        self,
        *,
        n_seats: int = 100,
        per_row: int = 10,
        seated: bool = True,
        capacity: int | None = None,
        blocked: list[str] | None = None,
        sales_open: bool = True,
    ) -> SessionInfo:
        venue = (await self.http.post("/api/venues", json={"name": "Test venue"})).json()
        room = (
            await self.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "Room"})
        ).json()
        seat_ids: list[str] = []
        if seated:
            plan = grid(n_seats, per_row)
            r = await self.http.put(
                f"/api/rooms/{room['id']}/seat-plan", json=plan_to_document(plan)
            )
            assert r.status_code == 201, r.text
            seat_ids = [s.id for s in plan.seats]
        r = await self.http.post(
            "/api/sessions",
            json={
                "room_id": room["id"],
                "event_name": f"Test {uuid.uuid4().hex[:6]}",
                "starts_at": "2030-01-01T20:00:00+00:00",
                "ends_at": "2030-01-01T22:00:00+00:00",
                "seated": seated,
                "capacity": capacity,
                "sales_open": sales_open,
                "tariffs": [
                    {"name": "Full", "price_cents": 1500, "currency": "EUR"},
                    {"name": "Reduced", "price_cents": 1000, "currency": "EUR"},
                ],
                "blocked_seats": blocked or [],
            },
        )
        assert r.status_code == 201, r.text
        detail = r.json()
        return SessionInfo(detail["id"], seat_ids, [t["id"] for t in detail["tariffs"]], detail)

    async def hold(
        self,
        session_id: int,
        seats: list[str] | None = None,
        quantity: int = 0,
        token: str | None = None,
        **extra: Any,
    ) -> httpx.Response:
        body: dict[str, Any] = {"seats": seats or [], "quantity": quantity, **extra}
        if token:
            body["token"] = token
        return await self.http.post(f"/api/sessions/{session_id}/holds", json=body)

    async def buy(
        self,
        session_id: int,
        token: str,
        seats: list[str],
        tariff_id: int,
        key: str | None = None,
        quantity: int = 0,
    ) -> httpx.Response:
        items: list[dict[str, Any]] = [{"seat": s, "tariff_id": tariff_id} for s in seats]
        if quantity:
            items.append({"tariff_id": tariff_id, "quantity": quantity})
        return await self.http.post(
            f"/api/sessions/{session_id}/orders",
            json={
                "hold_token": token,
                "idempotency_key": key or uuid.uuid4().hex,
                "items": items,
            },
        )


STAFF_PASSWORD = "a-long-staff-password"


async def staff_token(admin: Api, *roles: str) -> str:
    """Create a user holding ``roles`` (as the admin) and sign it in: its token."""
    username = f"staff-{'-'.join(roles) or 'none'}-{uuid.uuid4().hex[:8]}"
    r = await admin.http.post(
        "/api/users", json={"username": username, "password": STAFF_PASSWORD, "roles": roles}
    )
    assert r.status_code == 201, r.text
    r = await admin.http.post(
        "/api/auth/login", json={"username": username, "password": STAFF_PASSWORD}
    )
    assert r.status_code == 200, r.text
    token: str = r.json()["token"]
    return token


async def sold_in_postgres(session_id: int) -> set[int]:
    conn = await asyncpg.connect(testing_database_url())
    try:
        rows = await conn.fetch(
            "SELECT seat_idx FROM tickets WHERE session_id = $1 AND status = 'active'", session_id
        )
    finally:
        await conn.close()
    return {r["seat_idx"] for r in rows}


async def redis_seats(session_id: int) -> dict[int, str]:
    client = redis_connect()
    try:
        raw = cast(dict[bytes, bytes], await client.hgetall(f"gq:{{s:{session_id}}}:seats"))
    finally:
        await client.aclose()
    return {int(k): v.decode() for k, v in raw.items()}


class WsClient:
    """A JSON WebSocket client that keeps the seat-map state like the browser does."""

    def __init__(self, ws: Any) -> None:
        self.ws = ws
        self.states: dict[str, list[int]] = {}
        self.positions: dict[str, tuple[str, int]] = {}

    @classmethod
    async def connect(cls, url: str, subprotocol: str = "guichet.json") -> WsClient:
        ws = await websockets.connect(url, subprotocols=[subprotocol])  # type: ignore[list-item]
        return cls(ws)

    async def send(self, message: dict[str, Any]) -> None:
        await self.ws.send(json.dumps(message))

    async def recv(self, within: float = 5) -> dict[str, Any]:
        message: dict[str, Any] = json.loads(await asyncio.wait_for(self.ws.recv(), within))
        self.apply(message)
        return message

    def apply(self, m: dict[str, Any]) -> None:
        channel: str | None = m.get("channel")
        if channel is None:
            return  # only channel messages (snapshots, deltas) carry seat-map state
        if m.get("type") == "snapshot":
            if "runs" in m:
                self.states[channel] = [s for s, count in m["runs"] for _ in range(count)]
            else:
                self.states[channel] = [int(c) for c in m["states"]]
            self.positions[channel] = (m["epoch"], m["seq"])
        elif m.get("type") == "delta" and channel in self.states:
            epoch, seq = self.positions[channel]
            if m["epoch"] != epoch or m["seq"] <= seq:
                return
            assert m["from"] <= seq + 1, f"gap: at {seq}, got from {m['from']}"
            for index, state in m["changes"]:
                self.states[channel][index] = state
            self.positions[channel] = (epoch, m["seq"])

    async def until(self, predicate: Any, within: float = 5) -> dict[str, Any]:
        deadline = time.monotonic() + within
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError("condition not met")
            message = await self.recv(remaining)
            if predicate(message):
                return message

    async def close(self) -> None:
        await self.ws.close()
