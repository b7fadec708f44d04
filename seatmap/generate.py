"""Deterministic seat-plan generators for the demo, the tests and the benchmarks.

Plan units are SVG user units; neighbouring seats are about ``SPACING`` (20) units apart and the
canvas leaves a margin around the seats. The stage or screen is at the top of the canvas
(small ``y``), so rows further from it have larger ``y``. Same arguments, same plan.
"""

from __future__ import annotations

import math

from seatmap.plan import MAX_SEATS, Category, Seat, SeatPlan

__all__ = ["SPACING", "cinema", "grid", "row_label", "theatre"]

SPACING = 20.0
"""Distance between the centres of neighbouring seats."""

MARGIN = 40.0
"""Empty border around the seats (the stage/screen is drawn in the top margin)."""


def row_label(index: int) -> str:
    """Spreadsheet-style row label: 0 -> ``A``, 25 -> ``Z``, 26 -> ``AA``, 27 -> ``AB``..."""
    if index < 0:
        raise ValueError("row index must be >= 0")
    label = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        label = chr(ord("A") + rem) + label
    return label


def _finish(
    name: str, categories: tuple[Category, ...], raw: list[Seat], *, top: float = MARGIN
) -> SeatPlan:
    """Shift seats so the leftmost is at ``MARGIN`` and the topmost at ``top``; size the canvas."""
    min_x = min(s.x for s in raw)
    min_y = min(s.y for s in raw)
    dx, dy = MARGIN - min_x, top - min_y
    seats = tuple(
        Seat(
            s.id,
            s.label,
            s.row,
            s.zone,
            round(s.x + dx, 1),
            round(s.y + dy, 1),
            s.category,
            s.accessible,
        )
        for s in raw
    )
    width = math.ceil(max(s.x for s in seats) + MARGIN)
    height = math.ceil(max(s.y for s in seats) + MARGIN)
    return SeatPlan(name, float(width), float(height), categories, seats)


def cinema(rows: int = 15, seats_per_row: int = 20) -> SeatPlan:
    """A single-zone cinema hall: ``rows`` x ``seats_per_row`` seats in straight rows.

    Row ``A`` faces the screen. The two outermost seats at each end of the front row are
    accessible; the middle third of the rows is ``Premium``, the others ``Standard``.
    """
    if rows < 1 or seats_per_row < 1:
        raise ValueError("rows and seats_per_row must be >= 1")
    if rows * seats_per_row > MAX_SEATS:
        raise ValueError(f"a plan holds at most {MAX_SEATS} seats")
    categories = (Category("Standard", "#4a90d9"), Category("Premium", "#d9a441"))
    premium_start, premium_end = rows // 3, rows - rows // 3
    zone = "Hall"
    raw: list[Seat] = []
    for r in range(rows):
        label = row_label(r)
        category = "Premium" if premium_start <= r < premium_end and rows >= 3 else "Standard"
        for n in range(seats_per_row):
            accessible = r == 0 and (n < 2 or n >= seats_per_row - 2)
            raw.append(
                Seat(
                    id=f"hall-{label}-{n + 1}",
                    label=str(n + 1),
                    row=label,
                    zone=zone,
                    x=n * SPACING,
                    y=r * SPACING * 1.5,  # leg room between rows
                    category=category,
                    accessible=accessible,
                )
            )
    # Leave room above row A for the screen.
    return _finish("Cinema", categories, raw, top=MARGIN + 3 * SPACING)


def _arc_rows(
    zone: str,
    id_prefix: str,
    counts: list[int],
    first_radius: float,
    row_gap: float,
    category_of_row: list[str],
    accessible_at_ends: dict[int, int],
) -> list[Seat]:
    """Concentric rows around a centre above the stage; seats ``SPACING`` apart along each arc.

    Seats are numbered left to right as seen from the stage looking at the audience's backs,
    i.e. left to right on the canvas.
    """
    seats: list[Seat] = []
    for r, count in enumerate(counts):
        label = row_label(r)
        radius = first_radius + r * row_gap
        step = SPACING / radius  # angle between neighbours
        ends = accessible_at_ends.get(r, 0)
        for n in range(count):
            angle = (n - (count - 1) / 2) * step
            seats.append(
                Seat(
                    id=f"{id_prefix}-{label}-{n + 1}",
                    label=str(n + 1),
                    row=label,
                    zone=zone,
                    x=radius * math.sin(angle),
                    y=radius * math.cos(angle),
                    category=category_of_row[r],
                    accessible=n < ends or n >= count - ends,
                )
            )
    return seats


def theatre() -> SeatPlan:
    """A two-zone theatre of 1,190 seats with curved rows facing a stage at the top.

    ``Stalls``: 20 rows (A-T) of 30 to 49 seats (790 seats); rows A-F are ``Prestige``, the
    rest ``Stalls``, and the three end seats on each side of the last row are accessible.
    ``Balcony``: 10 rows (A-J) of 40 seats (400), drawn behind the stalls; rows A-C are
    ``Balcony Front``, the rest ``Balcony``.
    """
    categories = (
        Category("Prestige", "#b03a48"),
        Category("Stalls", "#d9a441"),
        Category("Balcony Front", "#4a90d9"),
        Category("Balcony", "#5fa55a"),
    )
    row_gap = SPACING * 1.25
    stalls_counts = [30 + r for r in range(20)]
    stalls = _arc_rows(
        zone="Stalls",
        id_prefix="stalls",
        counts=stalls_counts,
        first_radius=400.0,
        row_gap=row_gap,
        category_of_row=["Prestige" if r < 6 else "Stalls" for r in range(20)],
        accessible_at_ends={19: 3},
    )
    # The balcony overhangs the back of the stalls; in plan view it sits behind them.
    balcony_radius = 400.0 + 20 * row_gap + 3 * SPACING
    balcony = _arc_rows(
        zone="Balcony",
        id_prefix="balcony",
        counts=[40] * 10,
        first_radius=balcony_radius,
        row_gap=row_gap,
        category_of_row=["Balcony Front" if r < 3 else "Balcony" for r in range(10)],
        accessible_at_ends={},
    )
    return _finish("Theatre", categories, stalls + balcony, top=MARGIN + 4 * SPACING)


def grid(n_seats: int, per_row: int = 100) -> SeatPlan:
    """A rectangular block of ``n_seats`` seats, ``per_row`` per row (the last row may be short).

    Rows are labelled ``A``, ``B``, ... ``Z``, ``AA``...; the first tenth of the rows (at least
    one) is ``Premium``, the rest ``Standard``. Meant for load tests (e.g. 20,000 seats).
    """
    if not 1 <= n_seats <= MAX_SEATS:
        raise ValueError(f"n_seats must be between 1 and {MAX_SEATS}")
    if per_row < 1:
        raise ValueError("per_row must be >= 1")
    categories = (Category("Standard", "#4a90d9"), Category("Premium", "#d9a441"))
    n_rows = -(-n_seats // per_row)
    premium_rows = max(1, n_rows // 10)
    raw: list[Seat] = []
    for i in range(n_seats):
        r, n = divmod(i, per_row)
        label = row_label(r)
        raw.append(
            Seat(
                id=f"floor-{label}-{n + 1}",
                label=str(n + 1),
                row=label,
                zone="Floor",
                x=n * SPACING,
                y=r * SPACING,
                category="Premium" if r < premium_rows else "Standard",
                accessible=False,
            )
        )
    return _finish(f"Grid {n_seats}", categories, raw)
