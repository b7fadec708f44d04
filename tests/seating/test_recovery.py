"""Losing Redis loses holds but no sale; losing Postgres fails sales cleanly (503), with
nothing half-written, and the same sale succeeds once Postgres is back."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any, cast
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis
import redis.asyncio as aredis

from tests import support
from tests.support import Api, ServerProcess, WsClient, free_port, redis_seats, sold_in_postgres


async def started(extra_env: dict[str, str]) -> ServerProcess:
    proc = ServerProcess(extra_env)
    try:
        await asyncio.to_thread(proc.wait_ready)
    except BaseException:
        proc.stop()
        raise
    return proc


async def eventually(check, within: float = 10, what: str = "condition"):
    """Poll an async check until it returns a truthy value."""
    deadline = time.monotonic() + within
    while True:
        value = await check()
        if value:
            return value
        assert time.monotonic() < deadline, f"{what} not reached"
        await asyncio.sleep(0.05)


async def test_flushdb_keeps_sales_drops_holds_and_resyncs_clients(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=8)
    channel = f"seats:{s.id}"
    sold = (await buyer.hold(s.id, s.seat_ids[:2])).json()["token"]
    assert (await buyer.buy(s.id, sold, s.seat_ids[:2], s.tariff_ids[0])).status_code == 201
    held = (await buyer.hold(s.id, s.seat_ids[2:4])).json()["token"]
    client = await WsClient.connect(server.ws_url)
    await client.send({"type": "subscribe", "channel": channel})
    snap = await client.until(lambda m: m.get("type") == "snapshot")
    if client.states[channel] != [2, 2, 1, 1, 0, 0, 0, 0]:
        await client.until(lambda m: client.states[channel] == [2, 2, 1, 1, 0, 0, 0, 0])
    old_epoch = client.positions[channel][0]

    r = support.redis_connect()
    await r.flushdb()
    await r.aclose()

    fresh = await client.until(
        lambda m: m.get("type") == "snapshot" and m["epoch"] != old_epoch, within=5
    )
    assert fresh["states"] == "22000000", "sold seats stay sold, holds are gone"
    assert (fresh["sold"], fresh["held"], fresh["seq"]) == (2, 0, 0)
    assert snap["epoch"] == old_epoch
    assert await redis_seats(s.id) == {0: "s", 1: "s"}
    gone = await buyer.http.get(f"/api/sessions/{s.id}/holds/{held}")
    assert gone.status_code == 404, gone.text

    # the holds API works at once, and the client follows in the new epoch
    r2 = await buyer.hold(s.id, s.seat_ids[2:3])
    assert r2.status_code == 200, r2.text
    seen: list[dict[str, Any]] = []

    def is_delta(m: dict[str, Any]) -> bool:
        seen.append(m)
        return m.get("type") == "delta"

    try:
        delta = await client.until(is_delta)
    except TimeoutError:
        frames = [(m["type"], m.get("epoch"), m.get("seq"), m.get("states")) for m in seen]
        raise AssertionError(f"no delta; {len(frames)} frames instead: {frames[-3:]}") from None
    assert delta["epoch"] == fresh["epoch"] and delta["changes"] == [[2, 1]]
    assert (await buyer.hold(s.id, s.seat_ids[:1])).status_code == 409  # still sold
    await client.close()


class RedisServer:
    """A private redis-server that a test may kill and restart on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=self.port)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    client.ping()
                    return
                except redis.ConnectionError:
                    assert time.monotonic() < deadline, "redis-server did not start"
                    time.sleep(0.02)
        finally:
            client.close()

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()  # SIGKILL: nothing is saved (and --save "" anyway)
            self.proc.wait()


@pytest.fixture
def private_redis() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    yield server
    server.kill()


async def test_redis_restart_rebuilds_sold_seats_from_postgres(
    server: ServerProcess, admin: Api, private_redis: RedisServer
) -> None:
    proc = await started({"REDIS_URL": private_redis.url})
    api = Api(proc.url)
    try:
        s = await admin.create_session(n_seats=10)
        channel = f"seats:{s.id}"
        token = (await api.hold(s.id, s.seat_ids[:3])).json()["token"]
        assert (await api.buy(s.id, token, s.seat_ids[:3], s.tariff_ids[0])).status_code == 201
        kept = (await api.hold(s.id, s.seat_ids[5:6])).json()["token"]
        client = await WsClient.connect(proc.ws_url)
        await client.send({"type": "subscribe", "channel": channel})
        await client.until(lambda m: client.states.get(channel) == [2, 2, 2, 0, 0, 1, 0, 0, 0, 0])
        old_epoch = client.positions[channel][0]

        private_redis.kill()
        down = await api.hold(s.id, s.seat_ids[7:8])
        assert down.status_code == 503, down.text
        assert down.json()["error"]["code"] == "live_unavailable"
        private_redis.start()  # empty: every hold is lost

        async def healthy() -> bool:
            return (await api.http.get("/healthz")).status_code == 200

        await eventually(healthy, what="healthz 200")
        fresh = await client.until(
            lambda m: m.get("type") == "snapshot" and m["epoch"] != old_epoch, within=10
        )
        assert fresh["states"] == "2220000000"
        gone = await api.http.get(f"/api/sessions/{s.id}/holds/{kept}")
        assert gone.status_code == 404, gone.text

        r = await api.hold(s.id, s.seat_ids[5:7])
        assert r.status_code == 200, r.text
        assert (await api.hold(s.id, s.seat_ids[2:3])).status_code == 409
        direct = aredis.Redis.from_url(private_redis.url)
        raw = cast(dict[bytes, bytes], await direct.hgetall(f"gq:{{s:{s.id}}}:seats"))
        await direct.aclose()
        assert {int(k): v.decode()[:1] for k, v in raw.items()} == {
            0: "s",
            1: "s",
            2: "s",
            5: "h",
            6: "h",
        }
        # the subscriber is live again: it sees the new hold
        await client.until(
            lambda m: client.states[channel] == [2, 2, 2, 0, 0, 1, 1, 0, 0, 0], within=5
        )
        await client.close()
    finally:
        await api.close()
        proc.stop()


class PgProxy:
    """A TCP proxy in front of Postgres that a test can cut (closing every open connection
    and refusing new ones) and restore, or arm to cut a connection mid-transaction."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self.cut = False
        self.trip_on: bytes | None = None
        self.tripped = 0
        self.writers: set[asyncio.StreamWriter] = set()
        self.server: asyncio.Server | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self.cut:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        await asyncio.gather(
            self._pipe(reader, up_writer, inspect=True),
            self._pipe(up_reader, writer, inspect=False),
            return_exceptions=True,
        )
        for w in (writer, up_writer):
            self.writers.discard(w)
            w.close()

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, inspect: bool
    ) -> None:
        try:
            while data := await reader.read(65536):
                if inspect and self.trip_on is not None and self.trip_on in data:
                    self.trip_on = None
                    self.tripped += 1
                    self.drop_all()
                    return
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    def drop_all(self) -> None:
        for w in list(self.writers):
            w.transport.abort()
        self.writers.clear()

    def cut_off(self) -> None:
        self.cut = True
        self.drop_all()

    async def stop(self) -> None:
        self.cut_off()
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await self.server.wait_closed()


@pytest.fixture
async def pg_proxy() -> AsyncIterator[PgProxy]:
    parts = urlsplit(support.testing_database_url())
    proxy = PgProxy(parts.hostname or "127.0.0.1", parts.port or 5432)
    await proxy.start()
    yield proxy
    await proxy.stop()


def proxied_url(proxy: PgProxy) -> str:
    parts = urlsplit(support.testing_database_url())
    netloc = parts.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host))


async def orders_with_key(key: str) -> int:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        return int(
            await conn.fetchval("SELECT count(*) FROM orders WHERE idempotency_key = $1", key)
        )
    finally:
        await conn.close()


async def test_postgres_unavailable_fails_sales_with_503_and_writes_nothing(
    server: ServerProcess, admin: Api, pg_proxy: PgProxy
) -> None:
    proc = await started({"DATABASE_URL": proxied_url(pg_proxy)})
    api = Api(proc.url)
    try:
        s = await admin.create_session(n_seats=10)
        token = (await api.hold(s.id, s.seat_ids[:2])).json()["token"]
        key = f"pg-down-{uuid.uuid4().hex}"

        # 1. Postgres unreachable: every pooled connection dies and new ones are refused.
        pg_proxy.cut_off()
        r = await api.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0], key=key)
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "database_unavailable"
        assert r.headers.get("retry-after") == "1"
        assert await orders_with_key(key) == 0 and await sold_in_postgres(s.id) == set()
        assert (await api.http.get(f"/api/sessions/{s.id}/holds/{token}")).status_code == 200
        assert await redis_seats(s.id) == {0: "h" + token, 1: "h" + token}
        # Holds live in Redis: they go on from the catalogue this process knew.
        await asyncio.sleep(1.2)  # past the session cache's freshness
        more = await api.hold(s.id, s.seat_ids[2:3], token=token)
        assert more.status_code == 200, more.text
        r = await api.http.post(
            f"/api/sessions/{s.id}/holds/{token}/release", json={"seats": s.seat_ids[2:3]}
        )
        assert r.status_code == 200, r.text
        assert await redis_seats(s.id) == {0: "h" + token, 1: "h" + token}

        # 2. Postgres lost in the middle of the order's transaction (after the order row,
        #    when the tickets are sent): rolled back, nothing half-written.
        pg_proxy.cut = False
        pg_proxy.trip_on = b"INSERT INTO tickets"
        r = await api.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0], key=key)
        assert pg_proxy.tripped == 1, "the transaction was not interrupted"
        assert r.status_code == 503, r.text
        assert r.json()["error"]["code"] == "database_unavailable"
        assert await orders_with_key(key) == 0 and await sold_in_postgres(s.id) == set()
        assert (await api.http.get(f"/api/sessions/{s.id}/holds/{token}")).status_code == 200

        # 3. Postgres back: the very same request sells, once.
        async def bought() -> httpx.Response | None:
            r = await api.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0], key=key)
            return r if r.status_code != 503 else None

        r = await eventually(bought, what="a successful sale")
        assert r.status_code == 201, r.text
        assert await orders_with_key(key) == 1
        assert await sold_in_postgres(s.id) == {0, 1}
        assert await redis_seats(s.id) == {0: "s", 1: "s"}
        again = await api.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0], key=key)
        assert again.status_code == 200 and again.json()["id"] == r.json()["id"]
    finally:
        await api.close()
        # in a thread: the proxy, on this event loop, must keep serving the shutdown
        await asyncio.to_thread(proc.stop)
