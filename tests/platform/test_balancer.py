"""Two server processes behind the HAProxy of ``deploy/haproxy.cfg``: the e-shop and the door
go on through the balancer while one process is killed (SIGKILL) and started again; the
clients reconnect through the balancer and resume with ``since``, nothing lost, nothing
counted twice."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shutil
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets

from tests.door.test_door_api import code_of, door_session
from tests.support import (
    ROOT,
    Api,
    ServerProcess,
    WsClient,
    free_port,
    redis_seats,
    sold_in_postgres,
    staff_token,
)

TEMPLATE = ROOT / "deploy" / "haproxy.cfg"
BACKEND_HEADER = "x-guichet-backend"


def haproxy_binary() -> str | None:
    """The haproxy binary; installed from Debian when absent and we may (as bootstrap does)."""
    found = shutil.which("haproxy") or shutil.which("haproxy", path="/usr/sbin:/usr/local/sbin")
    if found or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "install", "-y", "-q", "haproxy"], env=env, capture_output=True)
    return shutil.which("haproxy", path="/usr/sbin:/usr/bin:/usr/local/sbin")


def render_config(template: str, listen_port: int, backends: dict[str, int]) -> str:
    """The deploy template with its ``bind`` and ``server`` lines moved to these ports."""
    text, binds = re.subn(r"(?m)^(\s+bind )\S+", rf"\g<1>127.0.0.1:{listen_port}", template)
    servers = re.findall(r"(?m)^(\s+server )\S+ \S+(.*)$", text)
    assert binds == 1 and servers, "deploy/haproxy.cfg lost its bind or server lines"
    indent, options = servers[0]
    lines = "\n".join(
        f"{indent}{name} 127.0.0.1:{port}{options}" for name, port in backends.items()
    )
    text = re.sub(r"(?m)^\s+server .*\n", "", text)
    return text.rstrip("\n") + "\n" + lines + "\n"


@dataclass
class Balancer:
    url: str
    ws_url: str
    servers: dict[str, ServerProcess]

    def restart(self, name: str) -> None:
        self.servers[name].stop()
        self.servers[name] = ServerProcess(port=self.servers[name].port)
        self.servers[name].wait_ready()


@pytest.fixture
def balancer(services: None, tmp_path: Path) -> Iterator[Balancer]:
    binary = haproxy_binary()
    if binary is None:
        pytest.skip("haproxy is not installed and cannot be (apt-get install haproxy)")
    servers = {"web1": ServerProcess(), "web2": ServerProcess()}
    proc: subprocess.Popen[bytes] | None = None
    try:
        for server in servers.values():
            server.wait_ready()
        port = free_port()
        config = tmp_path / "haproxy.cfg"
        backends = {name: s.port for name, s in servers.items()}
        config.write_text(render_config(TEMPLATE.read_text(), port, backends))
        with (ROOT / ".data" / f"test-haproxy-{port}.log").open("w") as log:
            proc = subprocess.Popen([binary, "-db", "-f", str(config)], stdout=log, stderr=log)
        lb = Balancer(f"http://127.0.0.1:{port}", f"ws://127.0.0.1:{port}/ws", servers)
        wait_for_backends(lb, set(servers))
        yield lb
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(10)
        for server in servers.values():
            server.stop()


def wait_for_backends(lb: Balancer, names: set[str], within: float = 20) -> None:
    """Until the balancer has sent a request to each of ``names`` (i.e. sees them up)."""
    seen: set[str] = set()
    deadline = time.monotonic() + within
    while not names <= seen:
        assert time.monotonic() < deadline, f"balancer never reached {names - seen}"
        try:
            r = httpx.get(lb.url + "/healthz", timeout=2)
            if r.status_code == 200:
                seen.add(r.headers[BACKEND_HEADER])
        except httpx.HTTPError:
            pass
        time.sleep(0.1)


async def connect(lb: Balancer, within: float = 15) -> tuple[WsClient, str]:
    """A WebSocket through the balancer, retried while a dead process is still in rotation;
    with the name of the process that took it."""
    deadline = time.monotonic() + within
    while True:
        try:
            client = await WsClient.connect(lb.ws_url)
            assert client.ws.response is not None
            return client, client.ws.response.headers[BACKEND_HEADER]
        except (OSError, websockets.InvalidStatus, websockets.InvalidHandshake):
            assert time.monotonic() < deadline, "no WebSocket through the balancer"
            await asyncio.sleep(0.2)


async def retried(call: Any, within: float = 15) -> httpx.Response:
    """An HTTP call through the balancer retried on a 502/503 (a request that was on the
    killed process): safe because the call carries its own idempotency key or nonce."""
    deadline = time.monotonic() + within
    while True:
        try:
            r: httpx.Response = await call()
            if r.status_code not in (502, 503, 504):
                return r
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the balancer never answered"
        await asyncio.sleep(0.2)


async def scan_frame(ws: WsClient, ref: int, code: str, nonce: str) -> dict[str, Any]:
    await ws.send({"type": "scan", "id": ref, "code": code, "nonce": nonce, "door": "north"})
    return await ws.until(lambda m: m.get("id") == ref, within=10)


async def authed(lb: Balancer, token: str, session_id: int) -> tuple[WsClient, str]:
    ws, backend = await connect(lb)
    await ws.send({"type": "auth", "token": token})
    await ws.until(lambda m: m["type"] == "authenticated")
    await ws.send({"type": "subscribe", "channel": f"door:{session_id}"})
    await ws.until(lambda m: m["type"] == "door")
    return ws, backend


async def scanner_on(lb: Balancer, token: str, sid: int, backend: str) -> WsClient:
    """A scanner socket on ``backend`` (least-connections may put the first elsewhere)."""
    spare: list[WsClient] = []
    try:
        for _ in range(8):
            ws, on = await authed(lb, token, sid)
            if on == backend:
                return ws
            spare.append(ws)
        raise AssertionError(f"no scanner socket landed on {backend}")
    finally:
        for ws in spare:
            await ws.close()


async def closed(ws: WsClient, within: float = 10) -> None:
    """Reads until the connection drops (the process behind it was killed)."""
    with pytest.raises(websockets.ConnectionClosed):
        while True:
            await ws.recv(within)


async def seat_truth(session_id: int) -> tuple[set[int], set[int]]:
    live = await redis_seats(session_id)
    return await sold_in_postgres(session_id), {i for i, v in live.items() if v.startswith("h")}


async def assert_map_is_true(ws: WsClient, channel: str, session_id: int) -> None:
    """The client's map, kept from deltas only, ends equal to Postgres and Redis."""
    deadline = time.monotonic() + 10
    while True:
        states = ws.states[channel]
        mine = (
            {i for i, c in enumerate(states) if c == 2},
            {i for i, c in enumerate(states) if c == 1},
        )
        if mine == await seat_truth(session_id):
            return
        assert time.monotonic() < deadline, f"map {mine} != truth {await seat_truth(session_id)}"
        with_timeout = deadline - time.monotonic()
        with contextlib.suppress(TimeoutError):
            await ws.recv(min(with_timeout, 1))


@pytest.fixture
async def staff(balancer: Balancer, admin_token: str) -> AsyncIterator[tuple[Api, Api, str]]:
    admin, buyer = Api(balancer.url, admin_token), Api(balancer.url)
    yield admin, buyer, await staff_token(admin, "entry_check")
    await admin.close()
    await buyer.close()


async def test_shop_and_door_through_the_balancer_survive_a_killed_process(
    balancer: Balancer, staff: tuple[Api, Api, str]
) -> None:
    admin, buyer, scanner_token = staff
    session = await door_session(admin, n_seats=30)
    sid, tariff, seats = session["id"], session["tariffs"][0]["id"], session["free_seats"]
    channel = f"seats:{sid}"
    viewer, victim = await connect(balancer)
    await viewer.send({"type": "subscribe", "channel": channel})
    await viewer.until(lambda m: m["type"] == "snapshot")
    scanner = await scanner_on(balancer, scanner_token, sid, victim)

    # Before: a hold and an order, seen by the viewer.
    token = (await buyer.hold(sid, seats[0:4])).json()["token"]
    r = await buyer.buy(sid, token, seats[0:2], tariff)
    assert r.status_code == 201, r.text
    ticket = r.json()["tickets"][0]["id"]
    code = await code_of(admin, ticket)
    await assert_map_is_true(viewer, channel, sid)

    # The scan leaves, and the process holding both sockets dies before anyone reads back.
    nonce, order_key = uuid.uuid4().hex, uuid.uuid4().hex
    await scanner.send({"type": "scan", "id": 1, "code": code, "nonce": nonce, "door": "north"})
    order = asyncio.create_task(buyer.buy(sid, token, seats[2:4], tariff, key=order_key))
    balancer.servers[victim].proc.kill()
    await closed(viewer)  # reads, and applies, whatever was sent before the end
    await closed(scanner)
    kept, position = viewer, viewer.positions[channel]
    first_try = await order  # on the dead process (502) or the live one (201)
    assert first_try.status_code in (201, 502, 503), first_try.text

    # While it is down: the shop goes on through the balancer, on the survivor.
    hold_b = await retried(lambda: buyer.hold(sid, seats[10:13]))
    assert hold_b.status_code == 200, hold_b.text
    paid = await retried(lambda: buyer.buy(sid, token, seats[2:4], tariff, key=order_key))
    assert paid.status_code in (200, 201), paid.text  # 200: the dead process had sold it
    if first_try.status_code == 201:
        assert paid.json()["id"] == first_try.json()["id"]  # the retry is the same order

    # The viewer comes back through the balancer and resumes from its position.
    viewer, survivor = await connect(balancer)
    assert survivor != victim
    viewer.states, viewer.positions = kept.states, kept.positions  # the map it had
    await viewer.send(
        {
            "type": "subscribe",
            "channel": channel,
            "since": {"epoch": position[0], "seq": position[1]},
        }
    )
    resumed = await viewer.until(lambda m: m.get("channel") == channel)
    assert resumed["type"] == "delta" and resumed["from"] == position[1] + 1, resumed
    await assert_map_is_true(viewer, channel, sid)

    # The scanner retries its scan with the same nonce: it counts once, whoever did it.
    scanner, _ = await authed(balancer, scanner_token, sid)
    retry = await scan_frame(scanner, 2, code, nonce)
    assert (retry["type"], retry["result"]) == ("scan_result", "valid"), retry
    again = await retried(
        lambda: admin.http.post(
            "/api/scan", json={"code": code, "nonce": uuid.uuid4().hex, "door": "south"}
        )
    )
    assert again.json()["reason"] == "already_entered", again.text

    # The killed process comes back; the balancer sends it work again.
    await asyncio.to_thread(balancer.restart, victim)
    await asyncio.to_thread(wait_for_backends, balancer, {victim})
    served: set[str] = set()
    for n in range(6):
        r = await buyer.hold(sid, [seats[20 + n]])
        assert r.status_code == 200, r.text
        served.add(r.headers[BACKEND_HEADER])
    assert victim in served  # least connections: the survivor holds both sockets
    await assert_map_is_true(viewer, channel, sid)
    assert await sold_in_postgres(sid) == {0, 1, 2, 3}

    # The door's count: one entry, over a fresh subscription through either process.
    await scanner.close()
    scanner, _ = await authed(balancer, scanner_token, sid)
    await scanner.send({"type": "subscribe", "channel": f"door:{sid}"})
    door = await scanner.until(lambda m: m["type"] == "door")
    assert door["counters"]["entered"] == 1, door
    await scanner.close()
    await viewer.close()
