"""A seated order's tariffs must apply to its seats' categories, and be active."""

from __future__ import annotations

from tests.support import Api, SessionInfo, sold_in_postgres


async def bound_tariffs(admin: Api, s: SessionInfo) -> tuple[int, int]:
    """A Premium-only and a Standard-only tariff on ``s`` (grid(20, 10): row A is Premium)."""
    ids = []
    for name, category in (("Premium", "Premium"), ("Standard", "Standard")):
        body = {"name": name, "price_cents": 2000, "categories": [category]}
        r = await admin.http.post(f"/api/sessions/{s.id}/tariffs", json=body)
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return ids[0], ids[1]


async def test_a_tariff_of_another_category_is_refused_with_the_seats(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    premium, standard = await bound_tariffs(admin, s)
    seats = [s.seat_ids[0], s.seat_ids[1], s.seat_ids[15]]  # Premium; B-6 Standard
    token = (await buyer.hold(s.id, seats)).json()["token"]
    r = await buyer.buy(s.id, token, seats, standard)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "tariff_not_for_seat"
    assert r.json()["error"]["seats"] == seats[:2]
    assert await sold_in_postgres(s.id) == set()
    items = [
        {"seat": seats[0], "tariff_id": premium},
        {"seat": seats[1], "tariff_id": s.tariff_ids[0]},  # unbound: any category
        {"seat": seats[2], "tariff_id": standard},
    ]
    r = await buyer.http.post(
        f"/api/sessions/{s.id}/orders",
        json={"hold_token": token, "idempotency_key": "bound-tariffs-1", "items": items},
    )
    assert r.status_code == 201, r.text
    assert await sold_in_postgres(s.id) == {0, 1, 15}


async def test_an_inactive_tariff_is_not_sold_but_a_retry_gets_its_order(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    token = (await buyer.hold(s.id, s.seat_ids[:1])).json()["token"]
    first = await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[1], key="inactive-key-1")
    assert first.status_code == 201, first.text
    r = await admin.http.patch(f"/api/tariffs/{s.tariff_ids[1]}", json={"active": False})
    assert r.status_code == 200 and r.json()["active"] is False
    retry = await buyer.buy(s.id, token, s.seat_ids[:1], s.tariff_ids[1], key="inactive-key-1")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"]
    token = (await buyer.hold(s.id, s.seat_ids[1:2])).json()["token"]
    r = await buyer.buy(s.id, token, s.seat_ids[1:2], s.tariff_ids[1])
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "tariff_inactive"
    assert r.json()["error"]["tariffs"] == [s.tariff_ids[1]]
    assert await sold_in_postgres(s.id) == {0}
