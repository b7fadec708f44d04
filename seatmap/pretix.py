"""pretix's seating-plan JSON, read into a ``guichet.seatplan/1`` document.

pretix (``pretix/static/seating/seating-plan.schema.json``) nests seats in
``zones[].rows[].seats[]`` like we do, but a seat's ``position`` is relative to its row's,
and a row's to its zone's; seats are identified by ``seat_guid`` and shown by
``seat_number`` (or ``seat_label``); rows by ``row_number`` (or ``row_label``); a category's
colour is optional. ``from_pretix`` turns such a document into ours (same zone, row and seat
order, so a seat's index and the JSON path of an error are the same in both) and
``parse_any`` validates either format with ``seatmap.plan.parse_plan``.

What pretix has and we drop: areas (shapes, text), seat radius or size, zone outlines.
Coordinates are made absolute and shifted so that none is negative; the canvas grows to hold
every seat.

Pure: no I/O.
"""

from __future__ import annotations

from typing import Any

from seatmap.plan import FORMAT, PlanError, SeatPlan, parse_plan

__all__ = ["from_pretix", "is_pretix", "parse_any"]

PALETTE = ("#4a90d9", "#d9a441", "#5cb85c", "#d9534f", "#8e6bbf", "#3bb3b3", "#e07b39")
"""Colours for pretix categories that have none (or not as ``#rrggbb``)."""
MARGIN = 20.0
DEFAULT_ZONE = "Zone {}"
DEFAULT_NAME = "Imported plan"

# Where a field of our document came from in pretix's (for the path of an error).
_SEAT_FIELDS = {
    ".id": ".seat_guid",
    ".label": ".seat_number",
    ".x": ".position.x",
    ".y": ".position.y",
}


def is_pretix(doc: object) -> bool:
    """A pretix plan has zones but no ``format`` key (ours always has one)."""
    return isinstance(doc, dict) and "format" not in doc and "zones" in doc


def _dict(value: object, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PlanError("invalid_format", "expected an object", path)
    return value


def _list(value: object, path: str) -> list[Any]:
    if not isinstance(value, list):
        raise PlanError("invalid_format", "expected an array", path)
    return value


def _offset(raw: object, path: str) -> tuple[float, float]:
    """A ``position`` ({x, y}; missing is the origin)."""
    if raw is None:
        return 0.0, 0.0
    pos = _dict(raw, path)
    result = []
    for axis in ("x", "y"):
        value = pos.get(axis, 0)
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise PlanError("invalid_format", "expected a number", f"{path}.{axis}")
        result.append(float(value))
    return result[0], result[1]


def _text(*candidates: object) -> object:
    """The first non-blank string, else the first candidate (for parse_plan to refuse)."""
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return value
        if isinstance(value, int) and not isinstance(value, bool):
            return str(value)
    return candidates[0]


def _categories(raw: object) -> list[dict[str, Any]]:
    result = []
    for i, item in enumerate(_list(raw, "$.categories")):
        cat = _dict(item, f"$.categories[{i}]")
        color = cat.get("color")
        if not (isinstance(color, str) and len(color) == 7 and color.startswith("#")):
            color = PALETTE[i % len(PALETTE)]
        result.append({"name": cat.get("name"), "color": color})
    return result


def _seats(row: dict[str, Any], path: str, ox: float, oy: float) -> list[dict[str, Any]]:
    seats = []
    for si, item in enumerate(_list(row.get("seats"), f"{path}.seats")):
        spath = f"{path}.seats[{si}]"
        seat = _dict(item, spath)
        sx, sy = _offset(seat.get("position"), f"{spath}.position")
        out: dict[str, Any] = {
            "id": seat.get("seat_guid"),
            "label": _text(seat.get("seat_label"), seat.get("seat_number")),
            "x": ox + sx,
            "y": oy + sy,
            "category": seat.get("category"),
        }
        seats.append(out)
    return seats


def from_pretix(doc: object) -> dict[str, Any]:
    """Our document for a pretix plan (not yet validated: ``parse_plan`` does that)."""
    top = _dict(doc, "$")
    zones: list[dict[str, Any]] = []
    for zi, item in enumerate(_list(top.get("zones"), "$.zones")):
        zpath = f"$.zones[{zi}]"
        zone = _dict(item, zpath)
        zx, zy = _offset(zone.get("position"), f"{zpath}.position")
        rows = []
        for ri, raw_row in enumerate(_list(zone.get("rows", []), f"{zpath}.rows")):
            rpath = f"{zpath}.rows[{ri}]"
            row = _dict(raw_row, rpath)
            rx, ry = _offset(row.get("position"), f"{rpath}.position")
            label = _text(row.get("row_label"), row.get("row_number"))
            rows.append({"label": label, "seats": _seats(row, rpath, zx + rx, zy + ry)})
        name = _text(zone.get("name"), DEFAULT_ZONE.format(zi + 1))
        zones.append({"name": name, "rows": rows})
    document = {
        "format": FORMAT,
        "name": _text(top.get("name"), DEFAULT_NAME),
        "size": {"width": 0.0, "height": 0.0},
        "categories": _categories(top.get("categories", [])),
        "zones": zones,
    }
    _fit(document, top.get("size"))
    return document


def _fit(document: dict[str, Any], size: object) -> None:
    """Shift seats off negative coordinates; a canvas that holds them all."""
    seats = [s for z in document["zones"] for r in z["rows"] for s in r["seats"]]
    xs = [s["x"] for s in seats] or [0.0]
    ys = [s["y"] for s in seats] or [0.0]
    dx, dy = max(0.0, -min(xs)), max(0.0, -min(ys))
    for seat in seats:
        seat["x"] += dx
        seat["y"] += dy
    given = size if isinstance(size, dict) else {}
    width, height = given.get("width"), given.get("height")
    need_w, need_h = max(xs) + dx, max(ys) + dy
    if not isinstance(width, int | float) or isinstance(width, bool) or width < need_w or dx:
        width = need_w + MARGIN
    if not isinstance(height, int | float) or isinstance(height, bool) or height < need_h or dy:
        height = need_h + MARGIN
    document["size"] = {"width": float(width), "height": float(height)}


def _pretix_path(path: str) -> str:
    """The path in the pretix document of a field of the converted one."""
    if ".seats[" in path:
        for ours, theirs in _SEAT_FIELDS.items():
            if path.endswith(ours):
                return path[: -len(ours)] + theirs
    if ".rows[" in path and path.endswith(".label"):
        return path[: -len(".label")] + ".row_number"
    return path


def parse_any(doc: object, fmt: str | None = None) -> tuple[SeatPlan, str]:
    """Validate a plan in our format or pretix's (``fmt``: ``"guichet"``, ``"pretix"`` or
    ``None`` to tell by its shape); returns the plan and the format it was read as.
    Errors of a pretix plan carry paths into the pretix document."""
    pretix = fmt == "pretix" or (fmt is None and is_pretix(doc))
    if not pretix:
        return parse_plan(doc), "guichet"
    try:
        return parse_plan(from_pretix(doc)), "pretix"
    except PlanError as exc:
        raise PlanError(exc.code, exc.message, _pretix_path(exc.path)) from None
