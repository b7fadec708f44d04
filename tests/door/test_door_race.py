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


@pytest.fixture(scope="module")
def second_server(server: ServerProcess) -> Iterator[ServerProcess]:
    proc = ServerProcess()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


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


async def test_control_check_then_insert_without_the_constraint_admits_several() -> None:
    """The same concurrency against a naive guard (look, then insert, no unique key) lets
    several scans in: the unique entry is what makes the real test pass."""
    pool = await asyncpg.create_pool(support.testing_database_url(), min_size=20, max_size=20)
    try:
        async with pool.acquire() as conn:
            await conn.execute(
                "DROP TABLE IF EXISTS naive_entries;"
                " CREATE TABLE naive_entries (ticket_id bigint, scan int)"
            )
        admitted = 0

        async def naive_scan(i: int) -> None:
            nonlocal admitted
            async with pool.acquire() as conn:
                seen = await conn.fetchval("SELECT count(*) FROM naive_entries WHERE ticket_id = 1")
                if seen == 0:
                    await conn.execute("INSERT INTO naive_entries VALUES (1, $1)", i)
                    admitted += 1

        await asyncio.gather(*(naive_scan(i) for i in range(40)))
        assert admitted > 1
        async with pool.acquire() as conn:
            await conn.execute("DROP TABLE naive_entries")
    finally:
        await pool.close()


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
