"""Seat plans in pretix's format: imported like ours, previewed without being stored."""

from __future__ import annotations

import copy
from typing import Any

from tests.support import Api

PRETIX_PLAN: dict[str, Any] = {
    "name": "Salle Molière",
    "categories": [
        {"name": "Parterre", "color": "#2f6fba"},
        {"name": "Balcon"},
    ],
    "size": {"width": 400, "height": 300},
    "zones": [
        {
            "name": "Parterre",
            "zone_id": "z-1",
            "position": {"x": 50, "y": 100},
            "rows": [
                {
                    "row_number": "1",
                    "position": {"x": 0, "y": 0},
                    "seats": [
                        {
                            "seat_guid": "p-1-1",
                            "seat_number": "1",
                            "position": {"x": 0, "y": 0},
                            "category": "Parterre",
                        },
                        {
                            "seat_guid": "p-1-2",
                            "seat_number": "2",
                            "position": {"x": 30, "y": 0},
                            "category": "Parterre",
                            "radius": 10,
                        },
                    ],
                },
                {
                    "row_number": "2",
                    "row_label": "B",
                    "position": {"x": 0, "y": 30},
                    "seats": [
                        {
                            "seat_guid": "p-2-1",
                            "seat_number": "1",
                            "seat_label": "B1",
                            "position": {"x": 15, "y": 0},
                            "category": "Parterre",
                        }
                    ],
                },
            ],
            "areas": [
                {
                    "shape": "rectangle",
                    "position": {"x": 0, "y": -80},
                    "rectangle": {"width": 200, "height": 30},
                    "color": "#cccccc",
                    "text": {"text": "Scène"},
                }
            ],
        },
        {
            "name": "",
            "position": {"x": 0, "y": 20},
            "rows": [
                {
                    "row_number": "A",
                    "position": {"x": 100, "y": 0},
                    "seats": [
                        {
                            "seat_guid": "b-a-1",
                            "seat_number": "1",
                            "position": {"x": 0, "y": 0},
                            "category": "Balcon",
                        }
                    ],
                }
            ],
        },
    ],
}


async def _room(admin: Api) -> int:
    venue = (await admin.http.post("/api/venues", json={"name": "Théâtre"})).json()
    room = (await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "R"})).json()
    return int(room["id"])


async def test_a_pretix_plan_is_imported_with_absolute_positions(admin: Api) -> None:
    room = await _room(admin)
    r = await admin.http.put(f"/api/rooms/{room}/seat-plan", json=PRETIX_PLAN)
    assert r.status_code == 201, r.text
    assert r.json()["seat_count"] == 4 and r.json()["name"] == "Salle Molière"
    document = (await admin.http.get(f"/api/seat-plans/{r.json()['id']}")).json()
    assert document["format"] == "guichet.seatplan/1"
    assert document["size"] == {"width": 400, "height": 300}
    assert document["categories"][0] == {"name": "Parterre", "color": "#2f6fba"}
    assert document["categories"][1]["name"] == "Balcon"  # a colour of our palette
    stalls, balcony = document["zones"]
    assert stalls["name"] == "Parterre" and balcony["name"] == "Zone 2"
    assert [row["label"] for row in stalls["rows"]] == ["1", "B"]
    seats = [s for z in document["zones"] for row in z["rows"] for s in row["seats"]]
    assert [(s["id"], s["label"], s["x"], s["y"], s["category"]) for s in seats] == [
        ("p-1-1", "1", 50, 100, "Parterre"),
        ("p-1-2", "2", 80, 100, "Parterre"),
        ("p-2-1", "B1", 65, 130, "Parterre"),
        ("b-a-1", "1", 100, 20, "Balcon"),
    ]


async def test_the_preview_answers_the_plan_without_storing_it(admin: Api) -> None:
    room = await _room(admin)
    r = await admin.http.post("/api/seat-plans/preview", json=PRETIX_PLAN)
    assert r.status_code == 200, r.text
    preview = r.json()
    assert preview["format"] == "pretix" and preview["seat_count"] == 4
    assert preview["seats"][2] == ["p-2-1", "B1", "B", "Parterre", "Parterre", 65, 130, False]
    assert [c["name"] for c in preview["categories"]] == ["Parterre", "Balcon"]
    venues = (await admin.http.get("/api/venues", params={"limit": 500})).json()["venues"]
    rooms = {r["id"]: r for v in venues for r in v["rooms"]}
    assert rooms[room]["seat_plan_id"] is None
    # the normalised document imports as it is, in our format
    r = await admin.http.put(f"/api/rooms/{room}/seat-plan", json=preview["document"])
    assert r.status_code == 201 and r.json()["seat_count"] == 4


async def test_a_refused_pretix_plan_points_into_the_pretix_document(admin: Api) -> None:
    room = await _room(admin)
    plan = copy.deepcopy(PRETIX_PLAN)
    plan["zones"][0]["rows"][1]["seats"][0]["seat_guid"] = "p-1-1"
    r = await admin.http.put(f"/api/rooms/{room}/seat-plan", json=plan)
    assert r.status_code == 400
    assert r.json()["error"]["code"] == "duplicate_seat_id"
    assert r.json()["error"]["path"] == "$.zones[0].rows[1].seats[0].seat_guid"
    plan = copy.deepcopy(PRETIX_PLAN)
    plan["zones"][1]["rows"][0]["seats"][0]["category"] = "Loges"
    r = await admin.http.post("/api/seat-plans/preview", json=plan)
    assert r.json()["error"]["code"] == "unknown_category"
    assert r.json()["error"]["path"] == "$.zones[1].rows[0].seats[0].category"


async def test_the_format_can_be_named_and_a_wrong_name_is_refused(admin: Api) -> None:
    plan = {k: v for k, v in PRETIX_PLAN.items() if k != "zones"}
    r = await admin.http.post("/api/seat-plans/preview?format=pretix", json=plan)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_format"
    r = await admin.http.post("/api/seat-plans/preview?format=pretix", json=PRETIX_PLAN)
    assert r.status_code == 200 and r.json()["format"] == "pretix"
    r = await admin.http.post("/api/seat-plans/preview?format=guichet", json=PRETIX_PLAN)
    assert r.status_code == 400 and r.json()["error"]["code"] == "unsupported_format"
    r = await admin.http.post("/api/seat-plans/preview?format=csv", json=PRETIX_PLAN)
    assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"


async def test_negative_pretix_positions_are_shifted_onto_the_canvas(admin: Api) -> None:
    plan = copy.deepcopy(PRETIX_PLAN)
    plan["zones"][1]["position"] = {"x": -120, "y": -40}
    preview = (await admin.http.post("/api/seat-plans/preview", json=plan)).json()
    xs = [s[5] for s in preview["seats"]]
    ys = [s[6] for s in preview["seats"]]
    assert min(xs) == 0 and min(ys) == 0
    assert preview["size"]["width"] >= max(xs) and preview["size"]["height"] >= max(ys)
