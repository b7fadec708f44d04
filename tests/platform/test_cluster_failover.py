"""On a Redis Cluster (``make test-cluster``), the master holding a session's seats dies
while buyers on two server processes hold and buy: its replica takes over, every sale is
kept (Postgres has each one the buyers were told of, the seat mirror learns them all), and
the seat-map subscribers of both processes end up with every seat sold."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
import uuid
from typing import Any

import httpx
import pytest
import redis.asyncio as aredis

from server.platform.redis_client import Client
from tests import support
from tests.support import Api, ServerProcess, WsClient, redis_seats, sold_in_postgres

pytestmark = pytest.mark.skipif(
    not support.on_cluster(), reason="needs a Redis Cluster REDIS_URL (make test-cluster)"
)

SEATS = 120
WORKERS_PER_SERVER = 4
KILL_AFTER = 30  # sales made before the master dies
DEADLINE_S = 90


async def buy_one(api: Api, session_id: int, seat: str, tariff: int, answers: list[int]) -> None:
    """Hold and buy one seat, retrying through the failover (503s, lost holds). The same
    order's retries carry the same idempotency key, so a sale whose answer was lost is
    answered again (200, the order committed before), never made twice. Every answer's
    status goes to ``answers``."""
    deadline = time.monotonic() + DEADLINE_S
    token: str | None = None
    key = uuid.uuid4().hex
    while time.monotonic() < deadline:
        try:
            if token is None:
                r = await api.hold(session_id, [seat])
                answers.append(r.status_code)
                if r.status_code >= 300:
                    await asyncio.sleep(0.1)
                    continue
                token = r.json()["token"]
            r = await api.buy(session_id, token, [seat], tariff, key=key)
            if r.status_code in (200, 201):  # 200: the replay of a sale whose answer was lost
                return
            if r.status_code < 500:  # the hold was lost with the master: hold again
                token, key = None, uuid.uuid4().hex
            await asyncio.sleep(0.1)
        except httpx.HTTPError:
            await asyncio.sleep(0.1)
    raise AssertionError(f"seat {seat} could not be bought within {DEADLINE_S} s")


async def master_of(client: Client, key: str) -> tuple[str, int]:
    assert not isinstance(client, aredis.Redis)
    await client.initialize()
    node = client.get_node_from_key(key)
    assert node is not None
    return node.host, int(node.port)


async def cluster_ok(host: str, port: int, within: float = 30) -> None:
    node = aredis.Redis(host=host, port=port)
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                info = await node.execute_command("CLUSTER INFO")
                if info.get("cluster_state") == "ok":
                    return
            except (aredis.ConnectionError, OSError):
                pass
            await asyncio.sleep(0.2)
        raise AssertionError(f"cluster not ok within {within} s")
    finally:
        await node.aclose()


async def kill(host: str, port: int) -> dict[str, Any]:
    """SIGKILL the node (no shutdown, no save): its INFO, to start it again."""
    node = aredis.Redis(host=host, port=port)
    try:
        info: dict[str, Any] = await node.info("server")
    finally:
        await node.aclose()
    os.kill(int(info["process_id"]), signal.SIGKILL)
    return info


async def test_a_master_dies_mid_load_and_no_sale_is_lost(
    server: ServerProcess, second_server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=SEATS, per_row=20)
    assert (await admin.http.get(f"/api/sessions/{s.id}/fill")).status_code == 200
    channel = f"seats:{s.id}"
    watchers = [await WsClient.connect(p.ws_url) for p in (server, second_server)]
    for watcher in watchers:
        await watcher.send({"type": "subscribe", "channel": channel})
        await watcher.until(lambda m: m.get("type") == "snapshot")
    client = support.redis_connect()
    buyers = [Api(p.url) for p in (server, second_server) for _ in range(WORKERS_PER_SERVER)]
    try:
        host, port = await master_of(client, f"gq:{{s:{s.id}}}:meta")
        queue: asyncio.Queue[str] = asyncio.Queue()
        for seat in s.seat_ids:
            queue.put_nowait(seat)
        bought: list[str] = []
        answers: list[int] = []
        enough = asyncio.Event()

        async def work(api: Api) -> None:
            while not queue.empty():
                seat = queue.get_nowait()
                await buy_one(api, s.id, seat, s.tariff_ids[0], answers)
                bought.append(seat)
                if len(bought) >= KILL_AFTER:
                    enough.set()

        load = asyncio.gather(*(work(api) for api in buyers))
        await enough.wait()
        info = await kill(host, port)
        await load

        survivor = next(n for n in support.cluster_nodes() if n != (host, port))
        await cluster_ok(*survivor)
        assert sorted(bought) == sorted(s.seat_ids)
        # through the failover a buyer is told "unavailable, retry" (503), never a crash
        assert 500 not in answers, sorted(answers)
        # every sale a buyer was told of is in Postgres, once
        assert await sold_in_postgres(s.id) == set(range(SEATS))
        # the replica took the seats over, and the mirror learnt every sale
        await client.aclose()
        client = support.redis_connect()
        assert await master_of(client, f"gq:{{s:{s.id}}}:meta") != (host, port)
        deadline = time.monotonic() + 15
        while (
            set((await redis_seats(s.id)).values()) != {"s"}
            or len(await redis_seats(s.id)) != SEATS
        ):
            assert time.monotonic() < deadline, "the mirror did not learn every sale"
            await asyncio.sleep(0.2)
        # both processes' subscribers were resynchronised: every seat sold on their maps
        for watcher in watchers:
            if watcher.states.get(channel) != [2] * SEATS:
                await watcher.until(lambda m, w=watcher: w.states.get(channel) == [2] * SEATS, 15)
    finally:
        for api in buyers:
            await api.close()
        for watcher in watchers:
            await watcher.close()
        await client.aclose()
    # start the dead node again: it rejoins as its old replica's replica
    await asyncio.to_thread(subprocess.run, ["redis-server", info["config_file"]], check=True)
    await cluster_ok(host, port)
