"""First scan wins across doors and processes: many concurrent scans, exactly one valid."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Iterator

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
