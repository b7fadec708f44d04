"""First scan wins across doors and processes: many concurrent scans, exactly one valid."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests import support
from tests.door.test_door_api import buy_tickets, code_of, door_session
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.slow


async def _scan_everywhere(
    apis: list[Api], code: str, n: int
) -> list[tuple[float, float, dict[str, object]]]:
    async def one(i: int) -> tuple[float, float, dict[str, object]]:
        api = apis[i % len(apis)]
        sent = time.monotonic()
        r = await api.http.post(
            "/api/scan", json={"code": code, "nonce": uuid.uuid4().hex, "door": f"door-{i % 4}"}
        )
        assert r.status_code == 200, r.text
        return sent, time.monotonic(), r.json()

    return await asyncio.gather(*(one(i) for i in range(n)))


def _max_in_flight(spans: list[tuple[float, float]]) -> int:
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    level = best = 0
    for _, step in events:
        level += step
        best = max(best, level)
    return best


async def test_one_valid_among_concurrent_scans_on_two_processes(
    admin: Api, admin_token: str, buyer: Api, second_server: ServerProcess
) -> None:
    other = Api(second_server.url, admin_token)
    try:
        session = await door_session(admin)
        _, tickets = await buy_tickets(buyer, session, 5)
        for ticket in tickets:
            code = await code_of(admin, ticket)
            results = await _scan_everywhere([admin, other], code, 40)
            valid = [r for _, _, r in results if r["result"] == "valid"]
            assert len(valid) == 1
            assert {r["reason"] for _, _, r in results if r["result"] != "valid"} == {
                "already_entered"
            }
            # control: the scans really were in flight together, on both processes
            assert _max_in_flight([(s, e) for s, e, _ in results]) >= 10
    finally:
        await other.close()


@pytest.fixture(scope="module")
def slow_pair(server: ServerProcess) -> Iterator[list[ServerProcess]]:
    """Two processes that pause 100 ms between reading a scan's facts and writing it: every
    concurrent scan of a ticket reads "no entry yet" before any of them writes."""
    procs = [ServerProcess({"GUICHET_FAILPOINTS": "door.facts_read=sleep:100"}) for _ in range(2)]
    try:
        for proc in procs:
            proc.wait_ready()
        yield procs
    finally:
        for proc in procs:
            proc.stop()


async def test_control_without_the_entries_key_the_same_scans_admit_several(
    admin: Api, admin_token: str, buyer: Api, slow_pair: list[ServerProcess]
) -> None:
    """The same concurrent scans through the real code path (first entries written in
    batches), on processes that read every scan's facts before any is written: with the
    primary key of ``entries`` (what ``ON CONFLICT DO NOTHING`` stands on) one is let in;
    with the guard switched off, several are. The key is what makes the tests pass."""
    apis = [Api(proc.url, admin_token) for proc in slow_pair]
    session = await door_session(admin)
    _, (guarded, ticket) = await buy_tickets(buyer, session, 2)
    guarded_results = await _scan_everywhere(apis, await code_of(admin, guarded), 40)
    assert sum(r["result"] == "valid" for _, _, r in guarded_results) == 1
    code = await code_of(admin, ticket)
    conn = await asyncpg.connect(support.testing_database_url())
    await conn.execute("ALTER TABLE entries DROP CONSTRAINT entries_pkey")
    try:
        results = await _scan_everywhere(apis, code, 40)
    finally:
        async with conn.transaction():  # put the guard back (without this ticket's doubles)
            await conn.execute("DELETE FROM entries WHERE ticket_id = $1", ticket)
            await conn.execute("ALTER TABLE entries ADD PRIMARY KEY (session_id, ticket_id)")
        await conn.close()
        for api in apis:
            await api.close()
    assert sum(r["result"] == "valid" for _, _, r in results) > 1


async def _retry_everywhere(
    apis: list[Api], body: dict[str, str], n: int, *, guarded: bool = True
) -> list[Any]:
    """``n`` tries of one scan (the same device and nonce) sent together, spread over
    ``apis``. Unguarded (the nonce key dropped) a try may fail: its replay is ambiguous."""

    async def one(i: int) -> Any:
        r = await apis[i % len(apis)].http.post("/api/scan", json=body)
        assert r.status_code == 200 or not guarded, r.text
        return r.json()

    return await asyncio.gather(*(one(i) for i in range(n)))


async def _stored(device: str, nonce: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        return list(
            await conn.fetch(
                "SELECT id, result, tableoid::regclass::text AS part FROM scans"
                " WHERE device = $1 AND nonce = $2",
                device,
                nonce,
            )
        )
    finally:
        await conn.close()


async def test_concurrent_retries_of_a_scan_are_answered_alike_and_stored_once(
    admin: Api, admin_token: str, buyer: Api, slow_pair: list[ServerProcess]
) -> None:
    """A scanner retrying a scan (the same device and nonce) while its first try is still in
    flight, on two processes that read every try's facts before any is written: every try
    gets the first's answer and scan id, and the scan is stored once, in this month's
    partition of ``scans`` (its nonce in ``scan_nonces``), for a valid scan and a refusal.
    Control: with the nonce key dropped, the same retries store the refusal again."""
    apis = [Api(proc.url, admin_token) for proc in slow_pair]
    month = f"scans_p{datetime.now(UTC):%Y%m}"
    device = "retry-" + uuid.uuid4().hex[:8]
    try:
        session = await door_session(admin)
        _, (ticket,) = await buy_tickets(buyer, session, 1)
        code = await code_of(admin, ticket)
        for expected in ("valid", "refused"):  # the second: the ticket is in already
            body = {"code": code, "nonce": uuid.uuid4().hex, "door": "d", "device": device}
            results = await _retry_everywhere(apis, body, 12)
            assert {(r["scan_id"], r["result"]) for r in results} == {
                (results[0]["scan_id"], expected)
            }
            assert sum(not r["replayed"] for r in results) == 1
            stored = await _stored(f"admin/{device}", body["nonce"])
            assert [(r["id"], r["result"], r["part"]) for r in stored] == [
                (results[0]["scan_id"], expected, month)
            ]
        control = {"code": code, "nonce": uuid.uuid4().hex, "door": "d", "device": device}
        conn = await asyncpg.connect(support.testing_database_url())
        await conn.execute("ALTER TABLE scan_nonces DROP CONSTRAINT scan_nonces_pkey")
        try:
            await _retry_everywhere(apis, control, 12, guarded=False)
            doubles = len(await _stored(f"admin/{device}", control["nonce"]))
        finally:
            for table in ("scans", "scan_nonces"):  # put the key back, without the doubles
                await conn.execute(
                    f"DELETE FROM {table} WHERE device = $1 AND nonce = $2",
                    f"admin/{device}",
                    control["nonce"],
                )
            await conn.execute("ALTER TABLE scan_nonces ADD PRIMARY KEY (device, nonce)")
            await conn.close()
    finally:
        for api in apis:
            await api.close()
    assert doubles > 1


@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(plan=st.lists(st.tuples(st.integers(0, 2), st.integers(0, 1)), min_size=1, max_size=24))
def test_any_interleaving_admits_each_scanned_ticket_exactly_once(
    plan: list[tuple[int, int]],
    server: ServerProcess,
    second_server: ServerProcess,
    admin_token: str,
) -> None:
    """Random mixes of tickets and processes, scanned concurrently: each scanned ticket
    has exactly one valid scan, and Postgres holds one entry for it."""

    async def run() -> None:
        apis = [Api(server.url, admin_token), Api(second_server.url, admin_token)]
        try:
            session = await door_session(apis[0])
            _, tickets = await buy_tickets(apis[0], session, 3)
            codes = [await code_of(apis[0], t) for t in tickets]

            async def one(ticket: int, process: int) -> dict[str, object]:
                r = await apis[process].http.post(
                    "/api/scan",
                    json={"code": codes[ticket], "nonce": uuid.uuid4().hex, "door": "d"},
                )
                assert r.status_code == 200, r.text
                return {**r.json(), "scanned": ticket}

            results = await asyncio.gather(*(one(t, p) for t, p in plan))
            for ticket in {t for t, _ in plan}:
                mine = [r for r in results if r["scanned"] == ticket]
                assert sum(r["result"] == "valid" for r in mine) == 1
            conn = await asyncpg.connect(support.testing_database_url())
            try:
                n = await conn.fetchval(
                    "SELECT count(*) FROM entries WHERE session_id = $1", session["id"]
                )
            finally:
                await conn.close()
            assert n == len({t for t, _ in plan})
        finally:
            for api in apis:
                await api.close()

    asyncio.run(run())
