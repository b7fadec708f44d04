"""Seat plans: the immutable model, the ``guichet.seatplan/1`` JSON format and its validation.

A plan is a flat, ordered tuple of seats. The position of a seat in ``SeatPlan.seats`` is its
*seat index*: the compact number used on the wire and in the state bitmaps, so the order is
part of the plan and is preserved by import and export. The JSON document groups seats into
zones and rows (see ``docs/seatplan-format.md``); ``parse_plan`` flattens it in document order
and ``plan_to_document`` groups consecutive seats back, so that
``parse_plan(plan_to_document(plan)) == plan`` for every valid plan.

Everything here is pure: no I/O, no clock, no randomness.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = [
    "FORMAT",
    "MAX_SEATS",
    "Category",
    "PlanError",
    "Seat",
    "SeatPlan",
    "dropped_seats",
    "parse_plan",
    "plan_to_document",
    "seat_index",
]

FORMAT = "guichet.seatplan/1"
"""Value of the top-level ``format`` key; bumped on any incompatible change."""

MAX_SEATS = 100_000
"""Largest number of seats a single plan may hold."""

MAX_CANVAS = 1_000_000.0
"""Largest accepted canvas width or height (in plan units)."""

SEAT_ID_RE = re.compile(r"[A-Za-z0-9._:-]{1,64}")
COLOR_RE = re.compile(r"#[0-9A-Fa-f]{6}")

# Longest accepted length of each kind of human-readable text.
MAX_PLAN_NAME = 200
MAX_ZONE_NAME = 100
MAX_CATEGORY_NAME = 100
MAX_ROW_LABEL = 32
MAX_SEAT_LABEL = 32

_TOP_KEYS = frozenset({"format", "name", "size", "categories", "zones", "focal"})
_TOP_REQUIRED = _TOP_KEYS - {"focal"}
_FOCAL_KEYS = frozenset({"x", "y"})
_SIZE_KEYS = frozenset({"width", "height"})
_CATEGORY_KEYS = frozenset({"name", "color"})
_ZONE_KEYS = frozenset({"name", "rows"})
_ROW_KEYS = frozenset({"label", "seats"})
_SEAT_KEYS = frozenset({"id", "label", "x", "y", "category", "accessible"})
_SEAT_REQUIRED = _SEAT_KEYS - {"accessible"}


@dataclass(frozen=True, slots=True)
class Seat:
    """One bookable seat. ``id`` is the organiser's stable identifier, unique in its plan."""

    id: str
    label: str
    row: str
    zone: str
    x: float
    y: float
    category: str
    accessible: bool


@dataclass(frozen=True, slots=True)
class Category:
    """A price/colour band seats belong to; ``color`` is ``#rrggbb``."""

    name: str
    color: str


@dataclass(frozen=True, slots=True)
class SeatPlan:
    """A validated plan. ``seats[i]`` is the seat with wire index ``i``."""

    name: str
    width: float
    height: float
    categories: tuple[Category, ...]
    seats: tuple[Seat, ...]
    focal: tuple[float, float] | None = None
    """Where the audience looks (the stage's centre): "best available" seats are the
    nearest to it. None: the middle of the top edge, where the stage conventionally is."""

    @property
    def focal_point(self) -> tuple[float, float]:
        return self.focal if self.focal is not None else (self.width / 2, 0.0)


class PlanError(Exception):
    """A plan document was rejected.

    ``code`` is a stable snake_case identifier (see ``docs/seatplan-format.md``), ``message``
    a human-readable English explanation and ``path`` a JSONPath-like pointer to the offending
    value, e.g. ``$.zones[0].rows[2].seats[5].id``.
    """

    def __init__(self, code: str, message: str, path: str) -> None:
        super().__init__(code, message, path)
        self.code = code
        self.message = message
        self.path = path

    def __str__(self) -> str:
        return f"{self.code} at {self.path}: {self.message}"


# --------------------------------------------------------------------------- validation helpers


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def _object(
    value: object, path: str, allowed: frozenset[str], required: Iterable[str]
) -> dict[str, object]:
    if not isinstance(value, dict):
        raise PlanError("invalid_format", f"expected an object, got {_type_name(value)}", path)
    for key in value:
        if not isinstance(key, str):
            raise PlanError("invalid_format", f"object keys must be strings, got {key!r}", path)
        if key not in allowed:
            raise PlanError("unknown_field", f"unknown field {key!r}", f"{path}.{key}")
    for key in sorted(required):
        if key not in value:
            raise PlanError("invalid_format", f"missing required field {key!r}", f"{path}.{key}")
    return value


def _array(value: object, path: str) -> list[object]:
    if not isinstance(value, list):
        raise PlanError("invalid_format", f"expected an array, got {_type_name(value)}", path)
    return value


def _text(value: object, path: str, max_len: int) -> str:
    if not isinstance(value, str):
        raise PlanError("invalid_format", f"expected a string, got {_type_name(value)}", path)
    if not value.strip():
        raise PlanError("invalid_label", "must not be empty or blank", path)
    if len(value) > max_len:
        raise PlanError("invalid_label", f"longer than {max_len} characters", path)
    for char in value:
        if unicodedata.category(char).startswith("C"):
            raise PlanError(
                "invalid_label", f"contains control or unassigned character {char!r}", path
            )
    return value


def _number(value: object, path: str, code: str) -> float:
    # bool is an int subclass: ``true`` is not a coordinate.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PlanError("invalid_format", f"expected a number, got {_type_name(value)}", path)
    try:
        number = float(value)
    except OverflowError:
        raise PlanError(code, "number out of range", path) from None
    if not math.isfinite(number):
        raise PlanError(code, "number must be finite", path)
    return number


# --------------------------------------------------------------------------- import


def parse_plan(doc: object) -> SeatPlan:
    """Validate a json-decoded ``guichet.seatplan/1`` document and build the plan.

    Seats are numbered in document order (zones, then rows, then seats). Raises ``PlanError``
    on the first problem found; unknown fields are rejected so typos cannot go unnoticed.
    """
    if not isinstance(doc, dict):
        raise PlanError("invalid_format", f"expected an object, got {_type_name(doc)}", "$")
    # The version is checked first: a document of another version may have other fields.
    if doc.get("format") != FORMAT:
        found = doc.get("format")
        raise PlanError(
            "unsupported_format",
            f"expected format {FORMAT!r}, got {found!r}" if "format" in doc else "missing format",
            "$.format",
        )
    top = _object(doc, "$", _TOP_KEYS, _TOP_REQUIRED)

    name = _text(top["name"], "$.name", MAX_PLAN_NAME)

    size = _object(top["size"], "$.size", _SIZE_KEYS, _SIZE_KEYS)
    width = _number(size["width"], "$.size.width", "invalid_size")
    height = _number(size["height"], "$.size.height", "invalid_size")
    for key, dim in (("width", width), ("height", height)):
        if not 0 < dim <= MAX_CANVAS:
            raise PlanError(
                "invalid_size", f"{key} must be > 0 and <= {MAX_CANVAS:g}", f"$.size.{key}"
            )

    categories = _parse_categories(top["categories"])
    category_names = {c.name for c in categories}

    seats: list[Seat] = []
    seen_ids: dict[str, str] = {}
    for zi, raw_zone in enumerate(_array(top["zones"], "$.zones")):
        zpath = f"$.zones[{zi}]"
        zone = _object(raw_zone, zpath, _ZONE_KEYS, _ZONE_KEYS)
        zone_name = _text(zone["name"], f"{zpath}.name", MAX_ZONE_NAME)
        for ri, raw_row in enumerate(_array(zone["rows"], f"{zpath}.rows")):
            rpath = f"{zpath}.rows[{ri}]"
            row = _object(raw_row, rpath, _ROW_KEYS, _ROW_KEYS)
            row_label = _text(row["label"], f"{rpath}.label", MAX_ROW_LABEL)
            for si, raw_seat in enumerate(_array(row["seats"], f"{rpath}.seats")):
                spath = f"{rpath}.seats[{si}]"
                if len(seats) >= MAX_SEATS:
                    raise PlanError(
                        "too_many_seats", f"a plan may hold at most {MAX_SEATS} seats", spath
                    )
                seat = _object(raw_seat, spath, _SEAT_KEYS, _SEAT_REQUIRED)
                seats.append(
                    _parse_seat(
                        seat, spath, zone_name, row_label, width, height, category_names, seen_ids
                    )
                )

    if not seats:
        raise PlanError("empty_plan", "the plan has no seats", "$.zones")
    focal = _parse_focal(top.get("focal"), width, height)
    return SeatPlan(name, width, height, tuple(categories), tuple(seats), focal)


def _parse_focal(raw: object, width: float, height: float) -> tuple[float, float] | None:
    if raw is None:
        return None
    point = _object(raw, "$.focal", _FOCAL_KEYS, _FOCAL_KEYS)
    x = _number(point["x"], "$.focal.x", "invalid_position")
    y = _number(point["y"], "$.focal.y", "invalid_position")
    if not (0 <= x <= width and 0 <= y <= height):
        raise PlanError("invalid_position", "the focal point is outside the canvas", "$.focal")
    return (x, y)


def _parse_categories(raw: object) -> list[Category]:
    categories: list[Category] = []
    category_names: set[str] = set()
    for i, raw_cat in enumerate(_array(raw, "$.categories")):
        cpath = f"$.categories[{i}]"
        cat = _object(raw_cat, cpath, _CATEGORY_KEYS, _CATEGORY_KEYS)
        cat_name = _text(cat["name"], f"{cpath}.name", MAX_CATEGORY_NAME)
        if cat_name in category_names:
            raise PlanError(
                "duplicate_category", f"category {cat_name!r} defined twice", f"{cpath}.name"
            )
        color = cat["color"]
        if not isinstance(color, str) or not COLOR_RE.fullmatch(color):
            raise PlanError("invalid_color", f"expected '#rrggbb', got {color!r}", f"{cpath}.color")
        category_names.add(cat_name)
        categories.append(Category(cat_name, color))
    return categories


def _parse_seat(
    seat: dict[str, object],
    path: str,
    zone: str,
    row: str,
    width: float,
    height: float,
    category_names: set[str],
    seen_ids: dict[str, str],
) -> Seat:
    seat_id = seat["id"]
    if not isinstance(seat_id, str) or not SEAT_ID_RE.fullmatch(seat_id):
        raise PlanError(
            "invalid_seat_id",
            f"seat ids are 1-64 characters of [A-Za-z0-9._:-], got {seat_id!r}",
            f"{path}.id",
        )
    if seat_id in seen_ids:
        raise PlanError(
            "duplicate_seat_id",
            f"seat id {seat_id!r} already used at {seen_ids[seat_id]}",
            f"{path}.id",
        )
    seen_ids[seat_id] = path
    label = _text(seat["label"], f"{path}.label", MAX_SEAT_LABEL)
    x = _number(seat["x"], f"{path}.x", "invalid_position")
    y = _number(seat["y"], f"{path}.y", "invalid_position")
    if not 0 <= x <= width:
        raise PlanError("invalid_position", f"x={x:g} is outside 0..{width:g}", f"{path}.x")
    if not 0 <= y <= height:
        raise PlanError("invalid_position", f"y={y:g} is outside 0..{height:g}", f"{path}.y")
    category = seat["category"]
    if not isinstance(category, str):
        raise PlanError(
            "invalid_format", f"expected a string, got {_type_name(category)}", f"{path}.category"
        )
    if category not in category_names:
        raise PlanError(
            "unknown_category", f"category {category!r} is not defined", f"{path}.category"
        )
    accessible = seat.get("accessible", False)
    if not isinstance(accessible, bool):
        raise PlanError(
            "invalid_format",
            f"expected a boolean, got {_type_name(accessible)}",
            f"{path}.accessible",
        )
    return Seat(seat_id, label, row, zone, x, y, category, accessible)


# --------------------------------------------------------------------------- export


def _json_number(value: float) -> float | int:
    """Integral coordinates are written as JSON integers (``20`` rather than ``20.0``)."""
    return int(value) if value.is_integer() else value


def plan_to_document(plan: SeatPlan) -> dict[str, Any]:
    """Export ``plan`` as a json-serialisable ``guichet.seatplan/1`` document.

    Consecutive seats sharing a zone (and then a row) are grouped into one zone (row) entry,
    which keeps the seat order, hence ``parse_plan(plan_to_document(plan)) == plan``.
    ``accessible`` is only written for accessible seats (it defaults to false).
    """
    zones: list[dict[str, Any]] = []
    rows: list[dict[str, Any]] = []
    seats: list[dict[str, Any]] = []
    current_zone: str | None = None
    current_row: str | None = None
    for seat in plan.seats:
        if seat.zone != current_zone:
            current_zone, current_row = seat.zone, None
            rows = []
            zones.append({"name": seat.zone, "rows": rows})
        if seat.row != current_row:
            current_row = seat.row
            seats = []
            rows.append({"label": seat.row, "seats": seats})
        entry: dict[str, Any] = {
            "id": seat.id,
            "label": seat.label,
            "x": _json_number(seat.x),
            "y": _json_number(seat.y),
            "category": seat.category,
        }
        if seat.accessible:
            entry["accessible"] = True
        seats.append(entry)
    document: dict[str, Any] = {
        "format": FORMAT,
        "name": plan.name,
        "size": {"width": _json_number(plan.width), "height": _json_number(plan.height)},
        "categories": [{"name": c.name, "color": c.color} for c in plan.categories],
        "zones": zones,
    }
    if plan.focal is not None:
        document["focal"] = {"x": _json_number(plan.focal[0]), "y": _json_number(plan.focal[1])}
    return document


# --------------------------------------------------------------------------- queries


def seat_index(plan: SeatPlan) -> dict[str, int]:
    """Map each seat id to its wire index (its position in ``plan.seats``). O(n): cache it."""
    return {seat.id: i for i, seat in enumerate(plan.seats)}


def dropped_seats(old: SeatPlan, new: SeatPlan) -> set[str]:
    """Seat ids present in ``old`` but absent from ``new``.

    The server refuses a plan change when this intersects the sold (or held) seats.
    """
    return {seat.id for seat in old.seats} - {seat.id for seat in new.seats}
