"""The seat-map document (server/catalog/seat_map.py): built once per plan, sent gzipped
with a strong ETag, and large enough for a stadium."""

from __future__ import annotations

import gzip
import json

from seatmap.generate import grid
from seatmap.plan import MAX_SEATS, plan_to_document
from tests.support import Api

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


async def test_the_seat_map_is_revalidated_by_etag_and_changes_with_the_plan(
    admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=40, per_row=10)
    url = f"/api/sessions/{s.id}/seat-map"
    first = await buyer.http.get(url, headers=GZIP)
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    etag = first.headers["etag"]
    assert etag.startswith('"') and not etag.startswith("W/")

    again = await buyer.http.get(url, headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["etag"] == etag

    document = plan_to_document(grid(40, 10))
    document["zones"][0]["rows"][0]["seats"].pop()  # a new plan version: 39 seats
    r = await admin.http.put(f"/api/rooms/{s.detail['room_id']}/seat-plan", json=document)
    assert r.status_code == 201
    changed = await buyer.http.get(url, headers={**GZIP, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert len(changed.json()["seats"]) == 39


async def test_gzipped_and_plain_answers_are_the_same_document(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=60, per_row=12)
    url = f"/api/sessions/{s.id}/seat-map"
    plain = await buyer.http.get(url, headers=PLAIN)
    assert "content-encoding" not in plain.headers
    async with buyer.http.stream("GET", url, headers=GZIP) as zipped:
        assert zipped.headers["content-encoding"] == "gzip"
        assert zipped.headers["etag"] == plain.headers["etag"]
        raw = b"".join([chunk async for chunk in zipped.aiter_raw()])
    assert json.loads(gzip.decompress(raw)) == plain.json()
    body = plain.json()
    assert body["session_id"] == s.id and body["seated"] is True
    assert [seat[0] for seat in body["seats"]] == s.seat_ids


async def test_a_general_admission_session_has_an_empty_seat_map(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(seated=False, capacity=50)
    r = await buyer.http.get(f"/api/sessions/{s.id}/seat-map")
    assert r.status_code == 200
    assert r.json() == {"session_id": s.id, "seated": False, "seats": []}


async def test_a_stadium_plan_of_the_largest_size_imports_and_is_served(
    admin: Api, buyer: Api
) -> None:
    """100,000 seats: a document over the general 4 MiB body limit, within the plan's own."""
    s = await admin.create_session(n_seats=MAX_SEATS, per_row=250)
    r = await buyer.http.get(f"/api/sessions/{s.id}/seat-map", headers=GZIP)
    assert r.status_code == 200
    seats = r.json()["seats"]
    assert len(seats) == MAX_SEATS and seats[-1][0] == s.seat_ids[-1]
    assert int(r.headers["content-length"]) < len(r.content) / 5  # sent compressed

    too_many = plan_to_document(grid(MAX_SEATS, 250))
    too_many["zones"][0]["rows"][-1]["seats"].append(
        {**too_many["zones"][0]["rows"][-1]["seats"][-1], "id": "extra", "x": 1, "y": 1}
    )
    refused = await admin.http.put(f"/api/rooms/{s.detail['room_id']}/seat-plan", json=too_many)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "too_many_seats"
