"""Tests for the pure seat-plan core: format validation, export round trip, generators."""

from __future__ import annotations

import copy
import json
import math
import string
from collections import Counter
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from seatmap.generate import SPACING, cinema, grid, row_label, theatre
from seatmap.plan import (
    FORMAT,
    MAX_SEATS,
    Category,
    PlanError,
    Seat,
    SeatPlan,
    dropped_seats,
    parse_plan,
    plan_to_document,
    seat_index,
)

Doc = dict[str, Any]


def valid_doc() -> Doc:
    """A small complete plan: two zones, three rows, five seats."""
    return {
        "format": FORMAT,
        "name": "Studio 1",
        "size": {"width": 200, "height": 150.5},
        "categories": [
            {"name": "Standard", "color": "#4a90d9"},
            {"name": "Premium", "color": "#D9A441"},
        ],
        "zones": [
            {
                "name": "Stalls",
                "rows": [
                    {
                        "label": "A",
                        "seats": [
                            {
                                "id": "stalls-A-1",
                                "label": "1",
                                "x": 20,
                                "y": 20,
                                "category": "Standard",
                                "accessible": True,
                            },
                            {
                                "id": "stalls-A-2",
                                "label": "2",
                                "x": 40.5,
                                "y": 20,
                                "category": "Standard",
                            },
                        ],
                    },
                    {
                        "label": "B",
                        "seats": [
                            {
                                "id": "stalls-B-1",
                                "label": "1",
                                "x": 20,
                                "y": 40,
                                "category": "Premium",
                                "accessible": False,
                            }
                        ],
                    },
                ],
            },
            {
                "name": "Box",
                "rows": [
                    {
                        "label": "A",
                        "seats": [
                            {
                                "id": "box:1",
                                "label": "1",
                                "x": 0,
                                "y": 150.5,
                                "category": "Premium",
                            },
                            {"id": "box.2", "label": "2", "x": 200, "y": 0, "category": "Premium"},
                        ],
                    }
                ],
            },
        ],
    }


def seat_doc(doc: Doc, zone: int = 0, row: int = 0, seat: int = 0) -> Doc:
    result: Doc = doc["zones"][zone]["rows"][row]["seats"][seat]
    return result


SEAT0 = "$.zones[0].rows[0].seats[0]"


def expect_error(doc: object, code: str, path: str) -> PlanError:
    with pytest.raises(PlanError) as info:
        parse_plan(doc)
    assert info.value.code == code, info.value
    assert info.value.path == path, info.value
    return info.value


# --------------------------------------------------------------------------- valid documents


def test_valid_document_parses_to_flat_plan_in_document_order() -> None:
    plan = parse_plan(valid_doc())
    assert plan.name == "Studio 1"
    assert (plan.width, plan.height) == (200.0, 150.5)
    assert plan.categories == (Category("Standard", "#4a90d9"), Category("Premium", "#D9A441"))
    assert [s.id for s in plan.seats] == [
        "stalls-A-1",
        "stalls-A-2",
        "stalls-B-1",
        "box:1",
        "box.2",
    ]
    assert plan.seats[0] == Seat("stalls-A-1", "1", "A", "Stalls", 20.0, 20.0, "Standard", True)
    # accessible defaults to false; integer coordinates become floats
    assert plan.seats[1] == Seat("stalls-A-2", "2", "A", "Stalls", 40.5, 20.0, "Standard", False)
    assert isinstance(plan.seats[0].x, float)
    assert plan.seats[3].zone == "Box" and plan.seats[3].row == "A"
    assert seat_index(plan) == {
        "stalls-A-1": 0,
        "stalls-A-2": 1,
        "stalls-B-1": 2,
        "box:1": 3,
        "box.2": 4,
    }


def test_export_of_parsed_document_reproduces_it() -> None:
    doc = valid_doc()
    exported = plan_to_document(parse_plan(doc))
    # The only normalisation: explicit "accessible": false is omitted.
    del doc["zones"][0]["rows"][1]["seats"][0]["accessible"]
    assert exported == doc
    assert json.loads(json.dumps(exported)) == exported


def test_seat_id_of_64_characters_is_accepted_and_65_rejected() -> None:
    doc = valid_doc()
    seat_doc(doc)["id"] = "a" * 64
    assert parse_plan(doc).seats[0].id == "a" * 64
    seat_doc(doc)["id"] = "a" * 65
    expect_error(doc, "invalid_seat_id", f"{SEAT0}.id")


def test_empty_rows_and_zones_are_allowed_but_dropped_on_export() -> None:
    doc = valid_doc()
    doc["zones"].insert(0, {"name": "Empty", "rows": []})
    doc["zones"][1]["rows"].append({"label": "Z", "seats": []})
    plan = parse_plan(doc)
    assert len(plan.seats) == 5
    assert [z["name"] for z in plan_to_document(plan)["zones"]] == ["Stalls", "Box"]


def test_exactly_max_seats_is_accepted() -> None:
    plan = parse_plan(plan_to_document(grid(MAX_SEATS, per_row=250)))
    assert len(plan.seats) == MAX_SEATS


# --------------------------------------------------------------------------- error codes


def _set(path: list[str | int], value: object) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value

    return mutate


def _delete(path: list[str | int]) -> Callable[[Doc], None]:
    def mutate(doc: Doc) -> None:
        target: Any = doc
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]

    return mutate


S0: list[str | int] = ["zones", 0, "rows", 0, "seats", 0]


def _duplicate_id_across_zones(doc: Doc) -> None:
    seat_doc(doc, zone=1)["id"] = "stalls-A-2"


def _duplicate_category(doc: Doc) -> None:
    doc["categories"].append({"name": "Standard", "color": "#000000"})


def _no_seats(doc: Doc) -> None:
    for zone in doc["zones"]:
        for row in zone["rows"]:
            row["seats"] = []


ERROR_CASES: list[tuple[str, Callable[[Doc], None], str, str]] = [
    ("format missing", _delete(["format"]), "unsupported_format", "$.format"),
    ("format v2", _set(["format"], "guichet.seatplan/2"), "unsupported_format", "$.format"),
    ("unknown top field", _set(["venue"], "x"), "unknown_field", "$.venue"),
    ("unknown seat field", _set([*S0, "acessible"], True), "unknown_field", f"{SEAT0}.acessible"),
    ("name missing", _delete(["name"]), "invalid_format", "$.name"),
    ("name not string", _set(["name"], 3), "invalid_format", "$.name"),
    ("name blank", _set(["name"], "   "), "invalid_label", "$.name"),
    ("name too long", _set(["name"], "n" * 201), "invalid_label", "$.name"),
    ("size not object", _set(["size"], [1, 2]), "invalid_format", "$.size"),
    ("width missing", _delete(["size", "width"]), "invalid_format", "$.size.width"),
    ("width zero", _set(["size", "width"], 0), "invalid_size", "$.size.width"),
    ("height negative", _set(["size", "height"], -5), "invalid_size", "$.size.height"),
    ("width infinite", _set(["size", "width"], math.inf), "invalid_size", "$.size.width"),
    ("width huge", _set(["size", "width"], 10**400), "invalid_size", "$.size.width"),
    ("width bool", _set(["size", "width"], True), "invalid_format", "$.size.width"),
    ("width string", _set(["size", "width"], "200"), "invalid_format", "$.size.width"),
    ("categories not array", _set(["categories"], {}), "invalid_format", "$.categories"),
    ("duplicate category", _duplicate_category, "duplicate_category", "$.categories[2].name"),
    (
        "bad color",
        _set(["categories", 0, "color"], "blue"),
        "invalid_color",
        "$.categories[0].color",
    ),
    (
        "short color",
        _set(["categories", 1, "color"], "#fff"),
        "invalid_color",
        "$.categories[1].color",
    ),
    ("zones not array", _set(["zones"], None), "invalid_format", "$.zones"),
    ("zone name blank", _set(["zones", 1, "name"], ""), "invalid_label", "$.zones[1].name"),
    (
        "row label control char",
        _set(["zones", 0, "rows", 1, "label"], "B\n"),
        "invalid_label",
        "$.zones[0].rows[1].label",
    ),
    ("seat not object", _set(S0, "stalls-A-1"), "invalid_format", SEAT0),
    ("seat id missing", _delete([*S0, "id"]), "invalid_format", f"{SEAT0}.id"),
    ("seat id empty", _set([*S0, "id"], ""), "invalid_seat_id", f"{SEAT0}.id"),
    ("seat id space", _set([*S0, "id"], "A 1"), "invalid_seat_id", f"{SEAT0}.id"),
    ("seat id slash", _set([*S0, "id"], "A/1"), "invalid_seat_id", f"{SEAT0}.id"),
    ("seat id number", _set([*S0, "id"], 12), "invalid_seat_id", f"{SEAT0}.id"),
    (
        "duplicate seat id",
        _duplicate_id_across_zones,
        "duplicate_seat_id",
        "$.zones[1].rows[0].seats[0].id",
    ),
    ("seat label too long", _set([*S0, "label"], "9" * 33), "invalid_label", f"{SEAT0}.label"),
    ("x beyond width", _set([*S0, "x"], 200.01), "invalid_position", f"{SEAT0}.x"),
    ("y negative", _set([*S0, "y"], -0.5), "invalid_position", f"{SEAT0}.y"),
    ("x nan", _set([*S0, "x"], math.nan), "invalid_position", f"{SEAT0}.x"),
    ("y null", _set([*S0, "y"], None), "invalid_format", f"{SEAT0}.y"),
    ("unknown category", _set([*S0, "category"], "VIP"), "unknown_category", f"{SEAT0}.category"),
    ("category not string", _set([*S0, "category"], 1), "invalid_format", f"{SEAT0}.category"),
    (
        "accessible string",
        _set([*S0, "accessible"], "yes"),
        "invalid_format",
        f"{SEAT0}.accessible",
    ),
    ("no seats", _no_seats, "empty_plan", "$.zones"),
    ("no zones", _set(["zones"], []), "empty_plan", "$.zones"),
]


@pytest.mark.parametrize(
    ("mutate", "code", "path"),
    [case[1:] for case in ERROR_CASES],
    ids=[case[0] for case in ERROR_CASES],
)
def test_invalid_documents_are_rejected_with_stable_code_and_path(
    mutate: Callable[[Doc], None], code: str, path: str
) -> None:
    doc = valid_doc()
    mutate(doc)
    expect_error(doc, code, path)


@pytest.mark.parametrize("doc", [None, [], "plan", 42])
def test_non_object_document_is_invalid_format(doc: object) -> None:
    expect_error(doc, "invalid_format", "$")


def test_unsupported_format_is_reported_before_unknown_fields() -> None:
    doc = {"format": "guichet.seatplan/2", "sections": []}
    expect_error(doc, "unsupported_format", "$.format")


def test_too_many_seats() -> None:
    doc = plan_to_document(grid(MAX_SEATS, per_row=250))
    last_row = doc["zones"][0]["rows"][-1]
    extra = dict(last_row["seats"][-1], id="one-too-many")
    last_row["seats"].append(extra)
    last = MAX_SEATS // 250 - 1
    error = expect_error(doc, "too_many_seats", f"$.zones[0].rows[{last}].seats[250]")
    assert str(MAX_SEATS) in error.message


def test_plan_error_carries_code_message_and_path() -> None:
    doc = valid_doc()
    _duplicate_id_across_zones(doc)
    error = expect_error(doc, "duplicate_seat_id", "$.zones[1].rows[0].seats[0].id")
    assert isinstance(error, Exception)
    # The message points back at the first use of the id.
    assert "$.zones[0].rows[0].seats[1]" in error.message
    assert str(error).startswith("duplicate_seat_id at $.zones[1].rows[0].seats[0].id: ")


def test_parse_does_not_mutate_input() -> None:
    doc = valid_doc()
    snapshot = copy.deepcopy(doc)
    parse_plan(doc)
    assert doc == snapshot


# --------------------------------------------------------------------------- dropped seats


def test_dropped_seats_examples() -> None:
    old = parse_plan(valid_doc())
    assert dropped_seats(old, old) == set()

    doc = valid_doc()
    del doc["zones"][0]["rows"][0]["seats"][1]  # stalls-A-2 goes away
    # box:1 moves to another zone and row, with a new label: same id, so not dropped
    moved = doc["zones"][1]["rows"][0]["seats"].pop(0)
    doc["zones"][0]["rows"][1]["seats"].append(dict(moved, label="7"))
    seat_doc(doc, zone=1)["id"] = "box-new"  # box.2 renamed: old id dropped, new one added
    new = parse_plan(doc)
    assert dropped_seats(old, new) == {"stalls-A-2", "box.2"}
    assert dropped_seats(new, old) == {"box-new"}


# --------------------------------------------------------------------------- generators


def assert_well_formed(plan: SeatPlan) -> None:
    ids = [s.id for s in plan.seats]
    assert len(set(ids)) == len(ids)
    assert all(0 <= s.x <= plan.width and 0 <= s.y <= plan.height for s in plan.seats)
    assert {s.category for s in plan.seats} <= {c.name for c in plan.categories}
    assert parse_plan(json.loads(json.dumps(plan_to_document(plan)))) == plan


def neighbour_distances(plan: SeatPlan) -> list[float]:
    pairs = zip(plan.seats, plan.seats[1:], strict=False)
    return [
        math.dist((a.x, a.y), (b.x, b.y)) for a, b in pairs if (a.zone, a.row) == (b.zone, b.row)
    ]


def test_cinema_default() -> None:
    plan = cinema()
    assert_well_formed(plan)
    assert len(plan.seats) == 300
    assert [c.name for c in plan.categories] == ["Standard", "Premium"]
    assert {s.zone for s in plan.seats} == {"Hall"}
    rows = Counter(s.row for s in plan.seats)
    assert list(rows) == [row_label(i) for i in range(15)]
    assert set(rows.values()) == {20}
    accessible = {s.id for s in plan.seats if s.accessible}
    assert accessible == {"hall-A-1", "hall-A-2", "hall-A-19", "hall-A-20"}
    premium_rows = {s.row for s in plan.seats if s.category == "Premium"}
    assert premium_rows == set("FGHIJ")
    assert all(d == pytest.approx(SPACING) for d in neighbour_distances(plan))
    assert plan == cinema()  # deterministic


def test_cinema_custom_size_and_bad_arguments() -> None:
    small = cinema(rows=2, seats_per_row=3)
    assert_well_formed(small)
    assert len(small.seats) == 6
    assert [s.label for s in small.seats[:3]] == ["1", "2", "3"]
    with pytest.raises(ValueError):
        cinema(rows=0)
    with pytest.raises(ValueError):
        cinema(rows=400, seats_per_row=300)  # past MAX_SEATS


def test_theatre() -> None:
    plan = theatre()
    assert_well_formed(plan)
    zones = Counter(s.zone for s in plan.seats)
    assert zones == {"Stalls": 790, "Balcony": 400}
    assert list(zones) == ["Stalls", "Balcony"]  # stalls first in seat order
    assert len({s.row for s in plan.seats if s.zone == "Stalls"}) == 20
    assert len({s.row for s in plan.seats if s.zone == "Balcony"}) == 10
    assert {s.category for s in plan.seats if s.zone == "Stalls"} == {"Prestige", "Stalls"}
    assert {s.category for s in plan.seats if s.zone == "Balcony"} == {"Balcony Front", "Balcony"}
    assert sum(s.accessible for s in plan.seats) == 6
    # curved rows: the row ends are nearer the stage (smaller y) than the middle
    row_a = [s for s in plan.seats if s.zone == "Stalls" and s.row == "A"]
    assert row_a[0].y < row_a[len(row_a) // 2].y
    assert row_a[-1].y < row_a[len(row_a) // 2].y
    # the balcony is drawn behind the stalls
    assert min(s.y for s in plan.seats if s.zone == "Balcony") > max(
        s.y
        for s in plan.seats
        if s.zone == "Stalls" and s.x == pytest.approx(plan.width / 2, abs=15)
    )
    assert all(d == pytest.approx(SPACING, abs=0.5) for d in neighbour_distances(plan))
    assert plan == theatre()


def test_grid_benchmark_size() -> None:
    plan = grid(20_000)
    assert_well_formed(plan)
    assert len(plan.seats) == 20_000
    rows = Counter(s.row for s in plan.seats)
    assert len(rows) == 200 and set(rows.values()) == {100}
    premium = {s.row for s in plan.seats if s.category == "Premium"}
    assert premium == {row_label(i) for i in range(20)}
    assert list(rows)[26:28] == ["AA", "AB"]
    assert seat_index(plan)["floor-B-1"] == 100


def test_grid_partial_last_row_and_bad_arguments() -> None:
    plan = grid(250, per_row=100)
    assert_well_formed(plan)
    assert list(Counter(s.row for s in plan.seats).values()) == [100, 100, 50]
    assert grid(1).seats[0].id == "floor-A-1"
    for bad in (lambda: grid(0), lambda: grid(MAX_SEATS + 1), lambda: grid(10, per_row=0)):
        with pytest.raises(ValueError):
            bad()


@pytest.mark.parametrize(
    ("index", "label"), [(0, "A"), (25, "Z"), (26, "AA"), (51, "AZ"), (52, "BA"), (702, "AAA")]
)
def test_row_label(index: int, label: str) -> None:
    assert row_label(index) == label


# --------------------------------------------------------------------------- properties

ID_CHARS = string.ascii_letters + string.digits + "._:-"
seat_ids = st.text(ID_CHARS, min_size=1, max_size=64)


def labels(max_size: int) -> st.SearchStrategy[str]:
    return st.text(st.characters(exclude_categories=["C"]), min_size=1, max_size=max_size).filter(
        lambda s: bool(s.strip())
    )


colors = st.from_regex(r"#[0-9a-fA-F]{6}", fullmatch=True)
dimensions = st.one_of(
    st.integers(1, 1_000_000).map(float),
    st.floats(min_value=1e-3, max_value=1e6, allow_nan=False, allow_infinity=False),
)


@st.composite
def plans(draw: st.DrawFn) -> SeatPlan:
    """Valid plans; zones and rows are drawn from small pools so runs split and merge."""
    width = draw(dimensions)
    height = draw(dimensions)
    cat_names = draw(st.lists(labels(100), min_size=1, max_size=4, unique=True))
    categories = tuple(Category(name, draw(colors)) for name in cat_names)
    zone_pool = draw(st.lists(labels(100), min_size=1, max_size=3))
    row_pool = draw(st.lists(labels(32), min_size=1, max_size=3))
    ids = draw(st.lists(seat_ids, min_size=1, max_size=25, unique=True))
    seats = tuple(
        Seat(
            id=seat_id,
            label=draw(labels(32)),
            row=draw(st.sampled_from(row_pool)),
            zone=draw(st.sampled_from(zone_pool)),
            x=draw(st.floats(min_value=0, max_value=width)),
            y=draw(st.floats(min_value=0, max_value=height)),
            category=draw(st.sampled_from(cat_names)),
            accessible=draw(st.booleans()),
        )
        for seat_id in ids
    )
    return SeatPlan(draw(labels(200)), width, height, categories, seats)


PROPERTY_SETTINGS = settings(
    max_examples=150, database=None, suppress_health_check=[HealthCheck.too_slow]
)


@PROPERTY_SETTINGS
@given(plans())
def test_round_trip_export_import_is_identity(plan: SeatPlan) -> None:
    doc = plan_to_document(plan)
    wire = json.loads(json.dumps(doc, allow_nan=False))
    assert parse_plan(wire) == plan
    assert parse_plan(doc) == plan
    assert seat_index(parse_plan(wire)) == {s.id: i for i, s in enumerate(plan.seats)}


@PROPERTY_SETTINGS
@given(plans(), st.data())
def test_removed_seats_are_reported_by_dropped_seats(plan: SeatPlan, data: st.DataObject) -> None:
    removed = data.draw(st.sets(st.sampled_from([s.id for s in plan.seats])), label="removed")
    assume(len(removed) < len(plan.seats))  # a plan needs at least one seat
    doc = plan_to_document(plan)
    for zone in doc["zones"]:
        for row in zone["rows"]:
            row["seats"] = [s for s in row["seats"] if s["id"] not in removed]
    new = parse_plan(doc)
    assert dropped_seats(plan, new) == removed
    assert dropped_seats(new, plan) == set()
    assert len(new.seats) == len(plan.seats) - len(removed)


@PROPERTY_SETTINGS
@given(plans(), st.data())
def test_dropped_seats_ignores_added_and_moved_seats(plan: SeatPlan, data: st.DataObject) -> None:
    existing = {s.id for s in plan.seats}
    added_ids = data.draw(st.sets(seat_ids.filter(lambda i: i not in existing), max_size=5))
    template = plan.seats[0]
    added = tuple(
        Seat(i, "new", "New", "New", 0.0, 0.0, template.category, False) for i in added_ids
    )
    shuffled = data.draw(st.permutations(plan.seats))
    moved = tuple(
        Seat(s.id, s.label, "Moved", s.zone, s.y, s.x, s.category, not s.accessible)
        for s in shuffled
    )
    new = SeatPlan(plan.name, plan.width, plan.height, plan.categories, moved + added)
    assert dropped_seats(plan, new) == set()
    assert dropped_seats(new, plan) == added_ids


def test_a_focal_point_round_trips_and_must_lie_on_the_canvas() -> None:
    document = plan_to_document(grid(20, 10))
    assert "focal" not in document
    placed = parse_plan({**document, "focal": {"x": 10, "y": 20}})
    assert placed.focal == (10, 20) and plan_to_document(placed)["focal"] == {"x": 10, "y": 20}
    with pytest.raises(PlanError) as outside:
        parse_plan({**document, "focal": {"x": -1, "y": 0}})
    assert outside.value.code == "invalid_position" and outside.value.path == "$.focal"
