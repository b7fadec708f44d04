"""The WebSocket protocol against real server processes: snapshots, deltas, catch-up with
``since``, msgpack, error frames, slow consumers, gauges and fan-out across processes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import msgpack
import pytest
import websockets

from server.seating.live import Live, SessionFacts
from tests import support
from tests.support import Api, ServerProcess, WsClient, redis_seats


async def started(extra_env: dict[str, str] | None = None) -> ServerProcess:
    proc = ServerProcess(extra_env)
    try:
        await asyncio.to_thread(proc.wait_ready)
    except BaseException:
        proc.stop()
        raise
    return proc


@pytest.fixture(scope="module")
async def short_log_server(server: ServerProcess) -> AsyncIterator[ServerProcess]:
    proc = await started({"GUICHET_LOG_LENGTH": "5"})
    yield proc
    proc.stop()


@pytest.fixture(scope="module")
async def small_queue_server(server: ServerProcess) -> AsyncIterator[ServerProcess]:
    proc = await started({"GUICHET_SEND_BUFFER": "4096"})
    yield proc
    proc.stop()


async def preload(api: Api, session_id: int) -> None:
    """Load the session's Redis mirror before anyone subscribes.

    The first subscriber of a session whose mirror is not loaded yet may get a second
    (identical or newer) snapshot when the load is announced; that is allowed but would make
    the exact frame sequences checked below racy.
    """
    assert (await api.http.get(f"/api/sessions/{session_id}/fill")).status_code == 200


def of_type(kind: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda m: m.get("type") == kind and all(m.get(k) == v for k, v in fields.items())


async def subscribed(url: str, channel: str, **extra: Any) -> tuple[WsClient, dict[str, Any]]:
    client = await WsClient.connect(url)
    await client.send({"type": "subscribe", "channel": channel, **extra})
    first = await client.until(lambda m: m.get("channel") == channel)
    return client, first


async def reaches(client: WsClient, channel: str, expected: list[int], within: float = 5) -> None:
    """Read until the client's copy of the seat map is ``expected``."""
    if client.states.get(channel) == expected:
        return
    try:
        await client.until(lambda m: client.states.get(channel) == expected, within)
    except TimeoutError:
        raise AssertionError(f"{client.states.get(channel)} never became {expected}") from None


def states_of(redis_map: dict[int, str], n: int) -> list[int]:
    codes = {"s": 2, "b": 3}
    return [codes.get(redis_map[i], 1) if i in redis_map else 0 for i in range(n)]


async def test_snapshot_then_deltas(server: ServerProcess, admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=20)
    await preload(buyer, s.id)
    channel = f"seats:{s.id}"
    client, snap = await subscribed(server.ws_url, channel)
    assert snap["type"] == "snapshot"
    assert snap["states"] == "0" * 20 and snap["seat_count"] == 20
    assert (snap["capacity"], snap["sold"], snap["held"], snap["free"]) == (20, 0, 0, 20)
    epoch, seq = snap["epoch"], snap["seq"]

    token = (await buyer.hold(s.id, s.seat_ids[:2])).json()["token"]
    delta = await client.until(of_type("delta"))
    assert (delta["epoch"], delta["from"], delta["seq"]) == (epoch, seq + 1, seq + 1)
    assert sorted(delta["changes"]) == [[0, 1], [1, 1]]
    assert (delta["held"], delta["free"]) == (2, 18)

    r = await buyer.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0])
    assert r.status_code == 201, r.text
    delta = await client.until(of_type("delta"))
    assert (delta["from"], delta["seq"]) == (seq + 2, seq + 2)
    assert sorted(delta["changes"]) == [[0, 2], [1, 2]]
    assert (delta["sold"], delta["held"]) == (2, 0)
    assert client.states[channel] == [2, 2] + [0] * 18
    await client.close()


async def test_since_gets_exactly_the_missed_changes(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    await preload(buyer, s.id)
    channel = f"seats:{s.id}"
    first, snap = await subscribed(server.ws_url, channel)
    epoch, seq = snap["epoch"], snap["seq"]
    await first.close()

    a = (await buyer.hold(s.id, s.seat_ids[0:2])).json()["token"]
    await buyer.hold(s.id, s.seat_ids[2:3])
    r = await buyer.http.post(
        f"/api/sessions/{s.id}/holds/{a}/release", json={"seats": [s.seat_ids[0]]}
    )
    assert r.status_code == 200

    again = await WsClient.connect(server.ws_url)
    again.states[channel] = list(first.states[channel])
    again.positions[channel] = (epoch, seq)
    await again.send(
        {"type": "subscribe", "channel": channel, "since": {"epoch": epoch, "seq": seq}}
    )
    catch_up = await again.recv()
    assert catch_up["type"] == "delta", catch_up
    assert (catch_up["epoch"], catch_up["from"], catch_up["seq"]) == (epoch, seq + 1, seq + 3)
    assert sorted(catch_up["changes"]) == [[0, 0], [1, 1], [2, 1]]
    assert again.states[channel] == [0, 1, 1] + [0] * 7

    # live deltas continue right after the catch-up
    await buyer.hold(s.id, s.seat_ids[5:6])
    live = await again.until(of_type("delta"))
    assert (live["from"], live["seq"], live["changes"]) == (seq + 4, seq + 4, [[5, 1]])

    # up to date: an empty delta, no snapshot
    third = await WsClient.connect(server.ws_url)
    await third.send(
        {"type": "subscribe", "channel": channel, "since": {"epoch": epoch, "seq": seq + 4}}
    )
    nothing = await third.recv()
    assert nothing["type"] == "delta" and nothing["changes"] == [] and nothing["seq"] == seq + 4
    for c in (again, third):
        await c.close()


async def test_since_beyond_the_log_gets_a_snapshot(
    short_log_server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=30)
    channel = f"seats:{s.id}"
    api = Api(short_log_server.url)
    await preload(api, s.id)
    first, snap = await subscribed(short_log_server.ws_url, channel)
    epoch, seq = snap["epoch"], snap["seq"]
    await first.close()
    for seat in s.seat_ids[:20]:
        assert (await api.hold(s.id, [seat])).status_code == 200

    client = await WsClient.connect(short_log_server.ws_url)
    await client.send(
        {"type": "subscribe", "channel": channel, "since": {"epoch": epoch, "seq": seq}}
    )
    fresh = await client.recv()
    assert fresh["type"] == "snapshot", fresh
    assert (fresh["epoch"], fresh["seq"]) == (epoch, seq + 20)
    assert fresh["states"] == "1" * 20 + "0" * 10
    await client.close()

    # within the (5 long) log a reconnect is still a delta...
    for seat in s.seat_ids[20:23]:
        assert (await api.hold(s.id, [seat])).status_code == 200
    client = await WsClient.connect(short_log_server.ws_url)
    await client.send(
        {"type": "subscribe", "channel": channel, "since": {"epoch": epoch, "seq": seq + 20}}
    )
    delta = await client.recv()
    assert delta["type"] == "delta" and (delta["from"], delta["seq"]) == (seq + 21, seq + 23)
    assert sorted(delta["changes"]) == [[20, 1], [21, 1], [22, 1]]
    await client.close()

    # ...and an unknown epoch or a position from the future gets a snapshot
    for since in ({"epoch": "not-an-epoch", "seq": seq}, {"epoch": epoch, "seq": seq + 999}):
        client = await WsClient.connect(short_log_server.ws_url)
        await client.send({"type": "subscribe", "channel": channel, "since": since})
        m = await client.recv()
        assert m["type"] == "snapshot" and m["seq"] == seq + 23, (since, m)
        await client.close()
    await api.close()


async def test_a_snapshot_as_runs_describes_the_same_seat_map(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=40, blocked=["floor-A-1"])
    token = (await buyer.hold(s.id, s.seat_ids[10:14])).json()["token"]
    assert (await buyer.buy(s.id, token, s.seat_ids[10:12], s.tariff_ids[0])).status_code == 201
    channel = f"seats:{s.id}"
    plain, digits = await subscribed(server.ws_url, channel)
    compact, runs = await subscribed(server.ws_url, channel, format="runs")
    assert "states" not in runs
    assert runs["runs"] == [[3, 1], [0, 9], [2, 2], [1, 2], [0, 26]]
    assert "".join(str(state) * count for state, count in runs["runs"]) == digits["states"]
    # deltas are the same for both
    await buyer.hold(s.id, s.seat_ids[20:21])
    assert (await plain.until(of_type("delta")))["changes"] == [[20, 1]]
    assert (await compact.until(of_type("delta")))["changes"] == [[20, 1]]
    await compact.send({"type": "subscribe", "channel": channel, "format": "bitmap", "id": 9})
    assert (await compact.until(of_type("error")))["code"] == "bad_message"
    await plain.close()
    await compact.close()


async def test_msgpack_subprotocol_round_trip(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=12)
    await preload(buyer, s.id)
    ws = await websockets.connect(server.ws_url, subprotocols=["guichet.msgpack"])  # type: ignore[list-item]
    assert ws.subprotocol == "guichet.msgpack"

    async def recv() -> dict[str, Any]:
        frame = await asyncio.wait_for(ws.recv(), 5)
        assert isinstance(frame, bytes), "msgpack frames are binary"
        message: dict[str, Any] = msgpack.unpackb(frame, raw=False)
        return message

    await ws.send(msgpack.packb({"type": "subscribe", "channel": f"seats:{s.id}", "id": 1}))
    snap = await recv()
    assert snap["type"] == "snapshot" and snap["states"] == "0" * 12
    await buyer.hold(s.id, s.seat_ids[3:5])
    delta = await recv()
    assert delta["type"] == "delta" and sorted(delta["changes"]) == [[3, 1], [4, 1]]
    assert delta["seq"] == snap["seq"] + 1

    await ws.send(b"\xc1")  # a byte msgpack never uses
    assert (await recv())["code"] == "bad_frame"
    await ws.send(json.dumps({"type": "ping"}))  # a text frame on a binary protocol
    assert (await recv())["code"] == "bad_frame"
    await ws.send(msgpack.packb({"type": "ping", "id": "p"}))
    assert await recv() == {"type": "pong", "id": "p"}
    await ws.close()


async def test_every_bad_frame_gets_its_error_code_and_the_connection_stays_usable(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=4)
    mine = f"seats:{s.id}"
    cases: list[tuple[str, int | None, str]] = [
        ("{not json", None, "bad_frame"),
        (json.dumps({"type": "ping", "pad": "x" * (17 * 1024)}), None, "frame_too_large"),
        (json.dumps({"type": "dance", "id": 1}), 1, "unknown_type"),
        (json.dumps({"id": 2}), 2, "unknown_type"),
        (json.dumps({"type": "subscribe", "channel": "planets:1", "id": 3}), 3, "unknown_channel"),
        (json.dumps({"type": "subscribe", "channel": "seats:abc", "id": 4}), 4, "unknown_channel"),
        (json.dumps({"type": "subscribe", "channel": 7, "id": 5}), 5, "unknown_channel"),
        (
            json.dumps({"type": "subscribe", "channel": "seats:987654321", "id": 6}),
            6,
            "unknown_session",
        ),
        (json.dumps([1, 2, 3]), None, "bad_message"),
        (
            json.dumps({"type": "subscribe", "channel": mine, "since": "yesterday", "id": 8}),
            8,
            "bad_message",
        ),
        (json.dumps({"type": "unsubscribe", "channel": mine, "id": 9}), 9, "not_subscribed"),
        (json.dumps({"type": "auth", "token": "forged.token", "id": 10}), 10, "invalid_token"),
        (
            json.dumps(
                {
                    "type": "subscribe",
                    "channel": mine,
                    "since": {"epoch": "e", "seq": True},
                    "id": 11,
                }
            ),
            11,
            "bad_message",
        ),
        ('{"type": "ping", "id": NaN}', None, "bad_frame"),
        ('{"type": "ping", "n": Infinity, "id": 12}', None, "bad_frame"),
        (
            json.dumps({"type": "subscribe", "channel": "seats:\u0661\u0662", "id": 13}),
            13,
            "unknown_channel",
        ),
        (
            json.dumps({"type": "subscribe", "channel": "seats:" + "9" * 30, "id": 14}),
            14,
            "unknown_channel",
        ),
        (json.dumps({"type": "ping", "id": {"deep": [1, 2, 3]}}), None, "bad_message"),
    ]
    client = await WsClient.connect(server.ws_url)
    for n, (frame, ref, code) in enumerate(cases):
        await client.ws.send(frame)
        answer = await client.recv()
        assert answer["type"] == "error" and answer["code"] == code, (frame[:80], answer)
        assert answer["message"]
        assert answer.get("id") == ref
        await client.send({"type": "ping", "id": f"after-{n}"})
        assert await client.recv() == {"type": "pong", "id": f"after-{n}"}
    # still a working subscriber after all that
    await client.send({"type": "subscribe", "channel": mine})
    assert (await client.recv())["type"] == "snapshot"
    await client.close()


async def test_slow_consumer_is_told_to_resync(
    small_queue_server: ServerProcess, admin: Api
) -> None:
    # Frames of ~200 kB: the kernel may buffer a few MB for a client that does not read
    # (the sender's socket buffer autotunes up to 4 MB on Linux) before the server's own
    # bounded queue comes into play.
    n = 20_000
    s = await admin.create_session(n_seats=n, per_row=250)
    channel = f"seats:{s.id}"
    srv = small_queue_server
    await preload(admin, s.id)
    # A client that stops reading: a tiny receive buffer, and websockets stops reading the
    # socket once one frame is waiting.
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", srv.port))
    sock.setblocking(False)
    slow = await websockets.connect(
        srv.ws_url,
        sock=sock,
        max_queue=1,
        ping_interval=None,
        subprotocols=["guichet.json"],  # type: ignore[list-item]
    )
    await slow.send(json.dumps({"type": "subscribe", "channel": channel}))
    snap = json.loads(await asyncio.wait_for(slow.recv(), 5))
    assert snap["type"] == "snapshot"
    # A well-behaved client on the same channel, reading all the time: once it has seen the
    # last change, the server has queued every frame for the slow one too.
    watcher, _ = await subscribed(srv.ws_url, channel)
    watcher_resyncs = 0

    async def watch() -> None:
        nonlocal watcher_resyncs
        while True:
            m = await watcher.recv(30)
            if m["type"] == "resync":
                watcher_resyncs += 1
                await watcher.send({"type": "subscribe", "channel": channel})

    watching = asyncio.create_task(watch())

    # Big deltas, straight through the live layer: every seat held, then released.
    client = support.redis_connect()

    async def no_reload(session_id: int) -> SessionFacts:
        raise AssertionError("the session is loaded")

    live = Live(client, no_reload)
    rounds = 20
    for i in range(rounds):
        token = f"slow-consumer-{i:04d}-xxxxx"
        await live.hold(s.id, token, range(n), 0, 60_000, 60_000)
        await live.release(s.id, token, None)
    final_seq = snap["seq"] + 2 * rounds
    await client.aclose()
    deadline = time.monotonic() + 20
    while watcher.positions[channel][1] < final_seq:
        assert time.monotonic() < deadline, "the watcher never caught up"
        await asyncio.sleep(0.05)
    watching.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await watching
    assert watcher.states[channel] == [0] * n

    # Now read: after at most a few queued frames, the server asks for a resync.
    frames = 0
    deadline = time.monotonic() + 10
    while True:
        assert time.monotonic() < deadline, "no resync arrived"
        m = json.loads(await asyncio.wait_for(slow.recv(), 10))
        frames += 1
        if m["type"] == "resync":
            assert m == {"type": "resync", "channel": channel, "reason": "slow_consumer"}
            break
        assert m["type"] == "delta", {k: v for k, v in m.items() if k != "states"}
    assert frames < 2 * rounds, "every delta was buffered: the queue is not bounded"

    # The client resubscribes and is up to date again; the connection still answers.
    await slow.send(json.dumps({"type": "subscribe", "channel": channel}))
    await slow.send(json.dumps({"type": "ping", "id": "still-there"}))
    snapshots = []
    while (m := json.loads(await asyncio.wait_for(slow.recv(), 5)))["type"] != "pong":
        assert m["type"] in ("delta", "resync", "snapshot"), m["type"]
        if m["type"] == "snapshot":
            snapshots.append(m)
    assert m == {"type": "pong", "id": "still-there"}
    assert snapshots, "the resubscription got no snapshot"
    assert snapshots[-1]["seq"] == final_seq and snapshots[-1]["states"] == "0" * n
    await slow.close()
    await watcher.close()


async def test_hold_through_one_process_reaches_a_subscriber_of_another(
    server: ServerProcess, second_server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    channel = f"seats:{s.id}"
    await preload(buyer, s.id)
    on_b, snap = await subscribed(second_server.ws_url, channel)
    assert snap["type"] == "snapshot"
    started_at = time.monotonic()
    r = await buyer.hold(s.id, s.seat_ids[4:6])  # through the first process
    assert r.status_code == 200
    delta = await on_b.until(of_type("delta"), within=2)
    assert time.monotonic() - started_at < 2
    assert sorted(delta["changes"]) == [[4, 1], [5, 1]]

    # and back: a sale through B reaches a subscriber of A
    on_a, _ = await subscribed(server.ws_url, channel)
    api_b = Api(second_server.url)
    r = await api_b.buy(s.id, r.json()["token"], s.seat_ids[4:6], s.tariff_ids[0])
    assert r.status_code == 201, r.text
    await reaches(on_a, channel, [0] * 4 + [2, 2] + [0] * 4, within=2)
    await reaches(on_b, channel, [0] * 4 + [2, 2] + [0] * 4, within=2)
    assert states_of(await redis_seats(s.id), 10) == on_b.states[channel]
    await api_b.close()
    for c in (on_a, on_b):
        await c.close()


async def test_gauge_follows_holds_and_sales(server: ServerProcess, admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=10, blocked=["floor-A-1"])
    channel = f"gauge:{s.id}"
    client, first = await subscribed(server.ws_url, channel)
    assert first["type"] == "gauge"
    assert (first["capacity"], first["sold"], first["held"], first["free"]) == (9, 0, 0, 9)

    def gauge(capacity: int, sold: int, held: int, free: int) -> Callable[[dict[str, Any]], bool]:
        return of_type("gauge", capacity=capacity, sold=sold, held=held, free=free)

    token = (await buyer.hold(s.id, s.seat_ids[1:4])).json()["token"]
    await client.until(gauge(9, 0, 3, 6))
    r = await buyer.buy(s.id, token, s.seat_ids[1:3], s.tariff_ids[0])
    assert r.status_code == 201
    await client.until(gauge(9, 2, 1, 6))
    await buyer.http.delete(f"/api/sessions/{s.id}/holds/{token}")
    await client.until(gauge(9, 2, 0, 7))
    await client.close()

    # general admission: the gauge is the whole picture
    ga = await admin.create_session(seated=False, capacity=50)
    client, first = await subscribed(server.ws_url, f"gauge:{ga.id}")
    assert (first["capacity"], first["free"]) == (50, 50)
    token = (await buyer.hold(ga.id, quantity=5)).json()["token"]
    await client.until(gauge(50, 0, 5, 45))
    r = await buyer.buy(ga.id, token, [], ga.tariff_ids[0], quantity=5)
    assert r.status_code == 201
    await client.until(gauge(50, 5, 0, 45))
    await client.close()
