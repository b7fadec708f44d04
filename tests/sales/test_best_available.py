"""Best available through the API and the Redis script: the script chooses exactly as the
pure reference does, whatever the live states; concurrent requests never share a seat."""

from __future__ import annotations

import asyncio
import random

import httpx
import pytest

from seatmap.best import candidates, choose
from seatmap.generate import grid
from tests.support import Api, ServerProcess, redis_seats


async def best(api: Api, session_id: int, n: int, **extra: object) -> httpx.Response:
    return await api.http.post(
        f"/api/sessions/{session_id}/holds/best", json={"quantity": n, **extra}
    )


async def test_an_empty_hall_gives_seats_together_in_the_front_middle(admin: Api) -> None:
    s = await admin.create_session(n_seats=100, per_row=10)
    r = await best(admin, s.id, 4)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["seats"] == ["floor-A-4", "floor-A-5", "floor-A-6", "floor-A-7"]
    held = await redis_seats(s.id)
    assert sorted(held) == [3, 4, 5, 6] and set(held.values()) == {"h" + body["token"]}


@pytest.mark.parametrize("seed", range(12))
async def test_the_script_chooses_as_the_reference_does(admin: Api, seed: int) -> None:
    """Random seats are taken first (held through the API); the script's choice is the
    pure walk's over the same states."""
    rng = random.Random(seed)
    per_row, rows = rng.randint(3, 9), rng.randint(1, 4)
    s = await admin.create_session(n_seats=per_row * rows, per_row=per_row)
    taken = rng.sample(range(per_row * rows), rng.randint(0, per_row * rows - 1))
    if taken:
        r = await admin.hold(s.id, [s.seat_ids[i] for i in taken])
        assert r.status_code == 200
    n = rng.randint(1, 4)
    plan = grid(per_row * rows, per_row)
    expected = choose(candidates(plan, n), n, lambda i: i not in set(taken))
    r = await best(admin, s.id, n)
    if expected is None:
        assert (r.status_code, r.json()["error"]["code"]) == (409, "not_enough_seats")
    else:
        assert r.status_code == 200, r.text
        assert r.json()["seats"] == [s.seat_ids[i] for i in expected]


async def test_concurrent_requests_never_share_a_seat(server: ServerProcess, admin: Api) -> None:
    s = await admin.create_session(n_seats=100, per_row=10)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        replies = await asyncio.gather(
            *(
                http.post(f"/api/sessions/{s.id}/holds/best", json={"quantity": 4})
                for _ in range(24)
            )
        )
    won = [r.json()["seats"] for r in replies if r.status_code == 200]
    refused = [r.json()["error"]["code"] for r in replies if r.status_code != 200]
    chosen = [seat for seats in won for seat in seats]
    assert len(chosen) == len(set(chosen)) == 4 * len(won)
    assert len(won) >= 20 and set(refused) <= {"not_enough_seats"}  # 100 seats, 4 each
    assert len(await redis_seats(s.id)) == len(chosen)


async def test_a_tariff_limits_the_choice_to_its_categories(admin: Api) -> None:
    s = await admin.create_session(n_seats=100, per_row=10)  # row A is Premium
    r = await admin.http.post(
        f"/api/sessions/{s.id}/tariffs",
        json={"name": "Back", "price_cents": 900, "currency": "EUR", "categories": ["Standard"]},
    )
    assert r.status_code == 201, r.text
    chosen = (await best(admin, s.id, 2, tariff_id=r.json()["id"])).json()["seats"]
    assert chosen == ["floor-B-5", "floor-B-6"]


async def test_refusals_say_why(admin: Api) -> None:
    s = await admin.create_session(n_seats=6, per_row=6)
    too_many = await best(admin, s.id, 7)
    assert (too_many.status_code, too_many.json()["error"]["code"]) == (409, "not_enough_seats")
    assert (await best(admin, s.id, 21)).json()["error"]["code"] == "invalid_field"
    ga = await admin.create_session(seated=False, capacity=10)
    assert (await best(admin, ga.id, 2)).json()["error"]["code"] == "not_seated"
    unknown = await best(admin, s.id, 2, tariff_id=987654)
    assert unknown.json()["error"]["code"] == "unknown_tariff"
    assert (await redis_seats(s.id)) == {}
