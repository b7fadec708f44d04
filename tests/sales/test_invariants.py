"""A seat is never sold twice and never shown free while sold.

Many concurrent buyers over HTTP against the real server, a property-based state machine
against a pure model, and controls that show the guards are what makes this hold: without
the Lua script's atomic check, concurrent holds do double up; without Redis, Postgres'
partial unique index still refuses all but one sale of a seat.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from typing import Any, cast

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    consumes,
    initialize,
    invariant,
    multiple,
    rule,
)

from tests import support
from tests.support import Api, ServerProcess, WsClient, redis_seats, sold_in_postgres

FREE, HELD, SOLD = 0, 1, 2


def states_of(redis_map: dict[int, str], n: int) -> list[int]:
    return [(SOLD if redis_map[i] == "s" else HELD) if i in redis_map else FREE for i in range(n)]


async def double_sold(session_id: int) -> list[Any]:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        return list(
            await conn.fetch(
                "SELECT seat_idx, count(*) FROM tickets WHERE session_id = $1"
                " AND status = 'active' GROUP BY seat_idx HAVING count(*) > 1",
                session_id,
            )
        )
    finally:
        await conn.close()


class Watcher:
    """A WebSocket client watching the whole run; it checks, frame by frame, that a seat
    once shown sold is never shown anything else afterwards."""

    def __init__(self, client: WsClient, channel: str) -> None:
        self.client = client
        self.channel = channel
        self.ever_sold: set[int] = set()
        self.violations: list[str] = []
        self.frames = 0
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            m = await self.client.recv(60)
            self.frames += 1
            if m.get("type") == "resync":
                await self.client.send({"type": "subscribe", "channel": self.channel})
                continue
            states = self.client.states.get(self.channel)
            if states is None:
                continue
            for seat in self.ever_sold:
                if states[seat] != SOLD:
                    self.violations.append(f"seat {seat} shown {states[seat]} after sold ({m})")
            self.ever_sold |= {i for i, s in enumerate(states) if s == SOLD}

    async def until_state(self, expected: list[int], within: float = 10) -> None:
        deadline = time.monotonic() + within
        while self.client.states.get(self.channel) != expected:
            assert not self.task.done(), self.task
            assert time.monotonic() < deadline, (
                f"watcher shows {self.client.states.get(self.channel)}, expected {expected}"
            )
            await asyncio.sleep(0.02)

    async def stop(self) -> None:
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task
        await self.client.close()


async def test_concurrent_buyers_never_double_sell(server: ServerProcess, admin: Api) -> None:
    n_seats, buyers, rounds = 60, 40, 6
    s = await admin.create_session(n_seats=n_seats, per_row=10)
    channel = f"seats:{s.id}"
    assert (await admin.http.get(f"/api/sessions/{s.id}/fill")).status_code == 200
    ws = await WsClient.connect(server.ws_url)
    await ws.send({"type": "subscribe", "channel": channel})
    watcher = Watcher(ws, channel)

    http = httpx.AsyncClient(
        base_url=server.url, timeout=30, limits=httpx.Limits(max_connections=buyers)
    )
    statuses: Counter[tuple[str, int]] = Counter()
    sold_by_orders: list[int] = []

    async def buyer(n: int) -> None:
        rng = random.Random(n)
        for _ in range(rounds):
            seats = rng.sample(range(n_seats), rng.randint(1, 4))
            body: dict[str, Any] = {"seats": [s.seat_ids[i] for i in seats]}
            short = rng.random() < 0.3
            if short:
                body["hold_seconds"] = 1
            r = await http.post(f"/api/sessions/{s.id}/holds", json=body)
            statuses["hold", r.status_code] += 1
            if r.status_code != 200:
                assert r.status_code == 409 and r.json()["error"]["code"] == "seats_taken"
                continue
            token = r.json()["token"]
            if short and rng.random() < 0.5:
                await asyncio.sleep(rng.uniform(0.8, 1.3))  # buy around the expiry
            choice = rng.random()
            if choice < 0.5:
                bought = seats[: rng.randint(1, len(seats))]
                r = await http.post(
                    f"/api/sessions/{s.id}/orders",
                    json={
                        "hold_token": token,
                        "idempotency_key": uuid.uuid4().hex,
                        "items": [
                            {"seat": s.seat_ids[i], "tariff_id": s.tariff_ids[0]} for i in bought
                        ],
                    },
                )
                statuses["buy", r.status_code] += 1
                if r.status_code == 201:
                    sold_by_orders.extend(t["seat_idx"] for t in r.json()["tickets"])
                else:
                    # only an expired hold (maybe swept, maybe re-held) may fail to buy
                    assert short and r.status_code in (404, 409, 410), r.text
                if rng.random() < 0.5:
                    r = await http.delete(f"/api/sessions/{s.id}/holds/{token}")
                    statuses["release", r.status_code] += 1
            elif choice < 0.8:
                r = await http.delete(f"/api/sessions/{s.id}/holds/{token}")
                statuses["release", r.status_code] += 1
            else:
                statuses["left to expire or linger", 0] += 1

    await asyncio.gather(*(buyer(n) for n in range(buyers)))
    await http.aclose()

    # Nobody sold a seat twice: not the orders, not Postgres.
    assert len(sold_by_orders) == len(set(sold_by_orders)), Counter(sold_by_orders).most_common(3)
    assert await double_sold(s.id) == []
    pg = await sold_in_postgres(s.id)
    assert pg == set(sold_by_orders)
    # The run was really concurrent and contended.
    assert statuses["hold", 409] >= 20, statuses
    assert statuses["buy", 201] >= 10, statuses

    # Redis and Postgres agree on what is sold; the watcher shows exactly Redis.
    live = await redis_seats(s.id)
    assert {i for i, v in live.items() if v == "s"} == pg
    await watcher.until_state(states_of(live, n_seats))
    # Once the short holds expire and the rest are released, only sold seats remain.
    for token in {v[1:] for v in live.values() if v.startswith("h")}:
        await admin.http.delete(f"/api/sessions/{s.id}/holds/{token}")
    deadline = time.monotonic() + 10
    while True:
        live = await redis_seats(s.id)
        if all(v == "s" for v in live.values()):
            break
        assert time.monotonic() < deadline, live
        await asyncio.sleep(0.05)
    expected = [SOLD if i in pg else FREE for i in range(n_seats)]
    await watcher.until_state(expected)
    assert watcher.violations == []
    assert watcher.ever_sold == pg
    fill = (await admin.http.get(f"/api/sessions/{s.id}/fill")).json()
    assert (fill["sold"], fill["held"], fill["free"]) == (len(pg), 0, n_seats - len(pg))
    await watcher.stop()


async def test_control_postgres_index_refuses_concurrent_double_sale(admin: Api) -> None:
    """Bypassing Redis entirely: concurrent transactions each selling the same seat."""
    s = await admin.create_session(n_seats=10)
    contenders = 12
    conns = [await asyncpg.connect(support.testing_database_url()) for _ in range(contenders)]
    inserted = asyncio.Event()
    ready = 0
    go = asyncio.Event()

    async def sell(conn: asyncpg.Connection, n: int) -> str:
        nonlocal ready
        try:
            async with conn.transaction():
                order_id = await conn.fetchval(
                    "INSERT INTO orders (idempotency_key, session_id, hold_token, channel,"
                    " total_cents, currency) VALUES ($1, $2, 'control', 'web', 1500, 'EUR')"
                    " RETURNING id",
                    f"control-{s.id}-{n}",
                    s.id,
                )
                ready += 1
                if ready == contenders:
                    go.set()
                await go.wait()  # every transaction is open before anyone inserts a ticket
                await conn.execute(
                    "INSERT INTO tickets (order_id, session_id, seat_idx, tariff_id, price_cents)"
                    " VALUES ($1, $2, 7, $3, 1500)",
                    order_id,
                    s.id,
                    s.tariff_ids[0],
                )
                inserted.set()
            return "sold"
        except asyncpg.UniqueViolationError:
            return "refused"

    results = await asyncio.gather(*(sell(c, n) for n, c in enumerate(conns)))
    for c in conns:
        await c.close()
    assert Counter(results) == {"sold": 1, "refused": contenders - 1}
    assert await sold_in_postgres(s.id) == {7}
    assert await double_sold(s.id) == []


@pytest.fixture(scope="module")
def unguarded(server: ServerProcess) -> Iterator[ServerProcess]:
    """A server whose hold path checks the seats outside the script (failpoint
    ``holds.atomic=off``): read, then write, as a naive implementation would."""
    proc = ServerProcess({"GUICHET_FAILPOINTS": "holds.atomic=off"})
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


async def thirty_holds_of_one_seat(url: str, session_id: int, seat: str) -> list[int]:
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        results = await asyncio.gather(
            *(
                http.post(f"/api/sessions/{session_id}/holds", json={"seats": [seat]})
                for _ in range(30)
            )
        )
    return sorted(r.status_code for r in results)


async def test_concurrent_holds_of_one_seat_have_one_winner_and_the_control_has_more(
    server: ServerProcess, unguarded: ServerProcess, admin: Api
) -> None:
    """With the check and the write in one Lua script, exactly one of thirty concurrent holds
    of a seat wins. The control runs the same requests through the real hold path with the
    check made outside the script (read, then write): several win, each told it holds the
    seat."""
    s = await admin.create_session(n_seats=10)
    assert await thirty_holds_of_one_seat(server.url, s.id, s.seat_ids[7]) == [200] + [409] * 29
    assert list((await redis_seats(s.id)).keys()) == [7]

    other = await admin.create_session(n_seats=10)
    statuses = await thirty_holds_of_one_seat(unguarded.url, other.id, other.seat_ids[7])
    assert statuses.count(200) > 1, "without the atomic check, several holders should win"


# -- a property-based state machine against a pure model ------------------------------------

N_SEATS = 6


def test_state_machine_matches_the_model(server: ServerProcess, admin_token: str) -> None:
    base = server.url
    loop = asyncio.new_event_loop()  # the machine is synchronous; its Postgres checks use this
    pg: asyncpg.Connection = loop.run_until_complete(
        asyncpg.connect(support.testing_database_url())
    )
    rds = support.redis_connect_sync()

    def run_sync(coro: Any) -> Any:
        return loop.run_until_complete(coro)

    class Ticketing(RuleBasedStateMachine):
        tokens = Bundle("tokens")

        def __init__(self) -> None:
            super().__init__()
            self.http = httpx.Client(base_url=base, timeout=30)
            self.holder: dict[int, str] = {}  # seat -> token holding it
            self.sold: set[int] = set()
            self.alive: set[str] = set()  # tokens the server still knows

        @initialize()
        def create_session(self) -> None:
            info = run_sync(_create(base, admin_token, N_SEATS))
            self.session = info
            self.sid = info.id

        def ids(self, seats: list[int]) -> list[str]:
            return [self.session.seat_ids[i] for i in seats]

        @rule(
            target=tokens,
            seats=st.lists(st.integers(0, N_SEATS - 1), min_size=1, max_size=3, unique=True),
        )
        def hold_new(self, seats: list[int]) -> Any:
            r = self.http.post(f"/api/sessions/{self.sid}/holds", json={"seats": self.ids(seats)})
            taken = sorted(i for i in seats if i in self.holder or i in self.sold)
            if taken:
                assert r.status_code == 409, r.text
                assert r.json()["error"]["seats"] == self.ids(taken)
                return multiple()
            assert r.status_code == 200, r.text
            token = r.json()["token"]
            self.alive.add(token)
            for i in seats:
                self.holder[i] = token
            return token

        @rule(
            token=tokens,
            seats=st.lists(st.integers(0, N_SEATS - 1), min_size=1, max_size=3, unique=True),
        )
        def hold_more(self, token: str, seats: list[int]) -> None:
            r = self.http.post(
                f"/api/sessions/{self.sid}/holds", json={"seats": self.ids(seats), "token": token}
            )
            if token not in self.alive:  # a token the server forgot is not revived
                assert r.status_code == 404, r.text
                return
            taken = sorted(i for i in seats if i in self.sold or self.holder.get(i, token) != token)
            if taken:
                assert r.status_code == 409, r.text
                assert r.json()["error"]["seats"] == self.ids(taken)
                return
            assert r.status_code == 200, r.text
            for i in seats:
                self.holder[i] = token

        @rule(token=tokens, data=st.data())
        def release_some(self, token: str, data: st.DataObject) -> None:
            seats = data.draw(
                st.lists(st.integers(0, N_SEATS - 1), min_size=1, max_size=3, unique=True)
            )
            r = self.http.post(
                f"/api/sessions/{self.sid}/holds/{token}/release", json={"seats": self.ids(seats)}
            )
            if token not in self.alive:
                assert r.status_code == 404, r.text
                return
            assert r.status_code == 200, r.text
            for i in seats:
                if self.holder.get(i) == token:
                    del self.holder[i]

        @rule(token=consumes(tokens))
        def release_all(self, token: str) -> None:
            r = self.http.delete(f"/api/sessions/{self.sid}/holds/{token}")
            assert r.status_code == (200 if token in self.alive else 404), r.text
            self.alive.discard(token)
            self.holder = {i: t for i, t in self.holder.items() if t != token}

        @rule(token=tokens, data=st.data())
        def buy(self, token: str, data: st.DataObject) -> None:
            seats = data.draw(
                st.lists(st.integers(0, N_SEATS - 1), min_size=1, max_size=3, unique=True)
            )
            r = self.http.post(
                f"/api/sessions/{self.sid}/orders",
                json={
                    "hold_token": token,
                    "idempotency_key": uuid.uuid4().hex,
                    "items": [
                        {"seat": sid, "tariff_id": self.session.tariff_ids[1]}
                        for sid in self.ids(seats)
                    ],
                },
            )
            if token not in self.alive:
                assert r.status_code == 404, r.text
                return
            missing = [i for i in seats if self.holder.get(i) != token]  # in request order
            if missing:
                assert r.status_code == 409, r.text
                assert r.json()["error"]["seats"] == self.ids(missing)
                return
            assert r.status_code == 201, r.text
            assert sorted(t["seat_idx"] for t in r.json()["tickets"]) == sorted(seats)
            for i in seats:
                del self.holder[i]
                self.sold.add(i)
            if token not in self.holder.values():
                self.alive.discard(token)  # a hold bought entirely is gone

        @rule(token=tokens)
        def extend(self, token: str) -> None:
            r = self.http.post(f"/api/sessions/{self.sid}/holds/{token}/extend")
            assert r.status_code == (200 if token in self.alive else 404), r.text

        @rule(token=tokens)
        def look(self, token: str) -> None:
            r = self.http.get(f"/api/sessions/{self.sid}/holds/{token}")
            if token not in self.alive:
                assert r.status_code == 404, r.text
                return
            assert r.status_code == 200, r.text
            mine = sorted(i for i, t in self.holder.items() if t == token)
            assert r.json()["seats"] == self.ids(mine)

        @invariant()
        def redis_postgres_and_model_agree(self) -> None:
            if not hasattr(self, "sid"):
                return
            raw = cast(dict[bytes, bytes], rds.hgetall(f"gq:{{s:{self.sid}}}:seats"))
            live = {int(k): v.decode() for k, v in raw.items()}
            expected = {i: "h" + t for i, t in self.holder.items()}
            expected.update({i: "s" for i in self.sold})
            assert live == expected
            rows = run_sync(
                pg.fetch(
                    "SELECT seat_idx FROM tickets WHERE session_id = $1 AND status = 'active'",
                    self.sid,
                )
            )
            assert sorted(r["seat_idx"] for r in rows) == sorted(self.sold)  # once each
            fill = self.http.get(f"/api/sessions/{self.sid}/fill").json()
            assert (fill["sold"], fill["held"]) == (len(self.sold), len(self.holder))

        def teardown(self) -> None:
            self.http.close()

    Ticketing.TestCase.settings = settings(
        max_examples=25,
        stateful_step_count=12,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
    from hypothesis.stateful import run_state_machine_as_test

    try:
        run_state_machine_as_test(Ticketing, settings=Ticketing.TestCase.settings)
    finally:
        run_sync(pg.close())
        loop.close()
        rds.close()


async def _create(base: str, token: str, n: int) -> support.SessionInfo:
    api = Api(base, token)
    try:
        return await api.create_session(n_seats=n, per_row=n)
    finally:
        await api.close()
