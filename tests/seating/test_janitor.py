"""Redis keeps what is live: a day after a session ended, its mirror and door counters go
(every process may run the janitor); a session still running keeps them; what went is
rebuilt from Postgres if anyone asks again."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from server.catalog.service import Catalog
from server.door.counters import DoorLive
from server.door.counts import counts_from_postgres
from server.platform.redis_client import Client
from server.seating.janitor import retire_ended
from server.seating.live import Live
from tests import support
from tests.door.test_door_api import scan
from tests.support import Api, ServerProcess


async def session_keys(client: Client, session_id: int) -> list[bytes]:
    seat_keys = [k async for k in client.scan_iter(match=f"gq:{{s:{session_id}}}:*")]
    door_keys = [k async for k in client.scan_iter(match=f"gq:{{d:{session_id}}}:*")]
    return sorted(k for k in seat_keys + door_keys if b":ob:" not in k)


async def door_session_ending(admin: Api, ends_at: str) -> dict[str, object]:
    venue = (await admin.http.post("/api/venues", json={"name": "Janitor"})).json()
    room = (await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "R"})).json()
    r = await admin.http.post(
        "/api/sessions",
        json={
            "room_id": room["id"],
            "event_name": "Ended",
            "starts_at": "2020-01-01T20:00:00+00:00",
            "ends_at": ends_at,
            "seated": False,
            "capacity": 10,
            "tariffs": [{"name": "T", "price_cents": 100}],
        },
    )
    assert r.status_code == 201, r.text
    session: dict[str, object] = r.json()
    return session


@pytest.fixture
async def layer(server: ServerProcess) -> AsyncIterator[tuple[Live, DoorLive, Client]]:
    pool = await asyncpg.create_pool(support.testing_database_url(), min_size=1, max_size=2)
    client = support.redis_connect()
    live = Live(client, Catalog(pool).session_facts)
    door_live = DoorLive(live, lambda s: counts_from_postgres(pool, s))
    try:
        yield live, door_live, client
    finally:
        await client.aclose()
        await pool.close()


async def live_sessions(admin: Api) -> tuple[int, int]:
    """An ended and a running session, each with its seat-map mirror and door counters."""
    ended = await door_session_ending(admin, "2020-01-01T23:00:00+00:00")
    running = await door_session_ending(admin, "2099-01-01T23:00:00+00:00")
    for session in (ended, running):
        assert (await admin.http.get(f"/api/sessions/{session['id']}/seat-map")).status_code == 200
        assert (await admin.http.get(f"/api/sessions/{session['id']}/entries")).status_code == 200
        await scan(admin, "hello", session_id=session["id"], door="west")
    return int(str(ended["id"])), int(str(running["id"]))


async def test_the_live_keys_of_an_ended_session_go_and_come_back_on_demand(
    layer: tuple[Live, DoorLive, Client], admin: Api
) -> None:
    live, door_live, client = layer
    # The suite's server processes run their own janitors every minute; one of them may
    # retire the ended session first. Then this run proves nothing: start again.
    for _ in range(3):
        ended, running = await live_sessions(admin)
        if not await session_keys(client, ended):
            continue
        retired = await retire_ended(live, [door_live.forget])
        if ended in retired:
            break
    else:
        raise AssertionError("the ended session's keys were never there to retire")
    assert running not in retired
    assert await session_keys(client, ended) == []
    assert await session_keys(client, running)
    # what went is derived: asked again, it is rebuilt from Postgres
    entries = (await admin.http.get(f"/api/sessions/{ended}/entries")).json()
    assert entries["refused"] == 1
