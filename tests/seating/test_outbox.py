"""Crash windows after a commit: a process that dies between its Postgres commit and telling
Redis leaves an outbox entry that another process applies, so the seat map converges
without the dead process's memory. And an entry is applied once, however often it is
tried (the control shows the double count the marker prevents)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from server.catalog.service import Catalog
from server.seating.live import Keys, Live
from server.seating.outbox import Op, Outbox, record
from tests import support
from tests.door.test_door_api import door_session
from tests.door.test_door_release import booked_minutes_ago, reserve
from tests.support import Api, ServerProcess, redis_seats, sold_in_postgres

pytestmark = pytest.mark.slow


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    """Poll until ``check`` holds (the worker runs every second)."""
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "did not converge"
        await asyncio.sleep(0.2)


async def pending_entries(session_id: int) -> int:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM outbox WHERE session_id = $1", session_id
        )
        return count
    finally:
        await conn.close()


async def meta(session_id: int, name: str) -> int:
    client = support.redis_connect()
    try:
        value = await client.hget(Keys(session_id).meta, name)
    finally:
        await client.aclose()
    assert value is not None
    return int(value)


def dying_server(point: str) -> ServerProcess:
    proc = ServerProcess({"GUICHET_FAILPOINTS": f"{point}=exit"})
    proc.wait_ready()
    return proc


async def test_an_order_whose_process_dies_after_the_commit_still_shows_sold(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    dying = dying_server("sales.after_commit")
    try:
        doomed = Api(dying.url)
        token = (await doomed.hold(s.id, s.seat_ids[:2])).json()["token"]
        with pytest.raises(httpx.TransportError):  # the process exits mid-request
            await doomed.buy(s.id, token, s.seat_ids[:2], s.tariff_ids[0])
        await doomed.close()
    finally:
        dying.stop()
    assert await sold_in_postgres(s.id) == {0, 1}

    async def converged() -> bool:
        seats = await redis_seats(s.id)
        return seats.get(0) == "s" and seats.get(1) == "s"

    await eventually(converged)  # repaired by the surviving process's worker
    assert await pending_entries(s.id) == 0
    other = Api(server.url)
    r = await other.hold(s.id, s.seat_ids[:1])
    await other.close()
    assert r.status_code == 409  # nobody can hold a sold seat once its hold is gone
    assert await meta(s.id, "sold") == 2


async def test_a_general_admission_order_whose_process_dies_is_counted_once(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=50)
    dying = dying_server("sales.after_commit")
    try:
        doomed = Api(dying.url)
        token = (await doomed.hold(s.id, quantity=3)).json()["token"]
        with pytest.raises(httpx.TransportError):
            await doomed.buy(s.id, token, [], s.tariff_ids[0], quantity=3)
        await doomed.close()
    finally:
        dying.stop()

    async def converged() -> bool:
        return await pending_entries(s.id) == 0

    await eventually(converged)
    assert await meta(s.id, "sold") == 3


async def test_a_refund_whose_process_dies_after_the_commit_frees_the_seat(
    server: ServerProcess, admin: Api, buyer: Api, admin_token: str
) -> None:
    s = await admin.create_session(n_seats=10)
    token = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    order = (await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[0])).json()
    ticket = order["tickets"][0]["id"]
    dying = dying_server("door.refund_after_commit")
    try:
        staff = Api(dying.url, admin_token)  # tokens hold on every process
        with pytest.raises(httpx.TransportError):
            await staff.http.post(f"/api/tickets/{ticket}/refund")
        await staff.close()
    finally:
        dying.stop()
    assert await sold_in_postgres(s.id) == set()

    async def converged() -> bool:
        return 0 not in await redis_seats(s.id)

    await eventually(converged)
    assert await meta(s.id, "sold") == 0


async def test_a_release_whose_process_dies_after_the_commit_frees_the_seats(
    server: ServerProcess, admin: Api, admin_token: str
) -> None:
    session = await door_session(admin)
    old = await reserve(admin, session, 2)
    await booked_minutes_ago(old, 20)
    dying = dying_server("door.release_after_commit")
    try:
        staff = Api(dying.url, admin_token)
        with pytest.raises(httpx.TransportError):
            await staff.http.post(
                f"/api/sessions/{session['id']}/release-unscanned",
                json={"older_than_minutes": 15, "expected_count": 2},
            )
        await staff.close()
    finally:
        dying.stop()
    assert await sold_in_postgres(session["id"]) == set()

    async def converged() -> bool:
        return not any(v == "s" for v in (await redis_seats(session["id"])).values())

    await eventually(converged)
    assert await meta(session["id"], "sold") == 0


async def test_a_plan_change_whose_process_dies_after_the_commit_reaches_the_seat_map(
    server: ServerProcess, admin: Api, admin_token: str
) -> None:
    s = await admin.create_session(n_seats=10)
    assert (await admin.http.get(f"/api/sessions/{s.id}/fill")).status_code == 200  # loads it
    epoch_before = await meta_text(s.id, "epoch")
    dying = dying_server("catalog.plan_after_commit")
    try:
        staff = Api(dying.url, admin_token)
        with pytest.raises(httpx.TransportError):
            await staff.http.put(
                f"/api/rooms/{s.detail['room_id']}/seat-plan", json=plan_to_document(grid(12, 10))
            )
        await staff.close()
    finally:
        dying.stop()

    async def converged() -> bool:  # rebuilt under a new epoch, with the new plan's seats
        if await pending_entries(s.id):
            return False
        await admin.http.get(f"/api/sessions/{s.id}/fill")
        return await meta_text(s.id, "epoch") != epoch_before and await meta(s.id, "n") == 12

    await eventually(converged)


async def meta_text(session_id: int, name: str) -> str | None:
    client = support.redis_connect()
    try:
        value = await client.hget(Keys(session_id).meta, name)
    finally:
        await client.aclose()
    return value.decode() if isinstance(value, bytes) else None


@pytest.fixture
async def live_layer(server: ServerProcess) -> AsyncIterator[tuple[asyncpg.Pool, Live, Outbox]]:
    pool = await asyncpg.create_pool(support.testing_database_url(), min_size=1, max_size=4)
    client = support.redis_connect()
    live = Live(client, Catalog(pool).session_facts)
    try:
        yield pool, live, Outbox(pool, live)
    finally:
        await client.aclose()
        await pool.close()


async def sell_entry(pool: asyncpg.Pool, session_id: int, args: dict[str, Any]) -> int:
    async with pool.acquire() as conn:
        return await record(conn, session_id, Op.SELL, args)


async def test_an_entry_applied_twice_counts_once_and_without_its_marker_twice(
    live_layer: tuple[asyncpg.Pool, Live, Outbox], admin: Api
) -> None:
    pool, live, outbox = live_layer
    s = await admin.create_session(seated=False, capacity=50)
    await live.ensure_loaded(s.id)
    args = {"token": "no-hold", "seats": [], "quantity": 2}
    entry = await sell_entry(pool, s.id, args)
    for _ in range(3):  # the committing process, then two workers
        await outbox.apply(entry, s.id, Op.SELL, args)
    assert await meta(s.id, "sold") == 2
    # Control: the same script without an entry id has nothing to remember it by.
    for _ in range(2):
        await live.sell(s.id, "no-hold", [], 2)
    assert await meta(s.id, "sold") == 6


async def test_a_mirror_rebuilt_from_postgres_marks_its_pending_entries_applied(
    live_layer: tuple[asyncpg.Pool, Live, Outbox], admin: Api, buyer: Api
) -> None:
    pool, live, outbox = live_layer
    s = await admin.create_session(seated=False, capacity=50)
    token = (await buyer.hold(s.id, quantity=4)).json()["token"]
    assert (await buyer.buy(s.id, token, [], s.tariff_ids[0], quantity=4)).status_code == 201
    # As if that order's process had died before telling Redis, and Redis then lost the
    # session: the entry is still pending when the mirror is rebuilt.
    args = {"token": token, "seats": [], "quantity": 4}
    entry = await sell_entry(pool, s.id, args)
    await live.invalidate(s.id)
    await live.ensure_loaded(s.id)
    assert await meta(s.id, "sold") == 4  # from Postgres
    await outbox.apply(entry, s.id, Op.SELL, args)
    assert await meta(s.id, "sold") == 4  # already in the rebuilt mirror
    async with pool.acquire() as conn:
        await conn.execute("DELETE FROM outbox WHERE id = $1", entry)


async def test_a_capacity_change_whose_process_dies_after_the_commit_reaches_the_gauge(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=10)
    held = (await admin.hold(s.id, quantity=2)).json()
    dying = dying_server("catalog.capacity_after_commit")
    try:
        doomed = Api(dying.url, admin.http.headers["Authorization"].split()[1])
        with pytest.raises(httpx.TransportError):  # the process exits mid-request
            await doomed.http.patch(f"/api/sessions/{s.id}", json={"capacity": 25})
        await doomed.close()
    finally:
        dying.stop()

    async def repaired() -> bool:
        fill = (await admin.http.get(f"/api/sessions/{s.id}/fill")).json()
        return bool(fill["capacity"] == 25) and await pending_entries(s.id) == 0

    await eventually(repaired)
    still = await admin.http.get(f"/api/sessions/{s.id}/holds/{held['token']}")
    assert still.status_code == 200  # and the hold made before is still there


async def test_an_older_capacity_applied_late_never_undoes_a_newer_one(
    live_layer: tuple[asyncpg.Pool, Live, Outbox], admin: Api
) -> None:
    pool, live, outbox = live_layer
    s = await admin.create_session(seated=False, capacity=10)
    await live.ensure_loaded(s.id)
    async with pool.acquire() as conn:
        older = await record(conn, s.id, Op.CAPACITY, {"capacity": 15})
        newer = await record(conn, s.id, Op.CAPACITY, {"capacity": 30})
    await outbox.apply(newer, s.id, Op.CAPACITY, {"capacity": 30})
    await outbox.apply(older, s.id, Op.CAPACITY, {"capacity": 15})  # a late repair
    assert await meta(s.id, "cap") == 30
