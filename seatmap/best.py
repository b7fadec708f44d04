"""Best available: N seats chosen for the buyer, pure.

The choice has two halves. Here, once per plan and request shape, the *candidates*: every
run of N adjacent seats in a row (a *window*) that the request may have, ranked by the
distance of its centre to the plan's focal point (the stage), and every single seat ranked
the same way. In Redis, at hold time, one script walks the candidates in that order against
the live seat states and holds the first that fits (``server/seating/lua/holds_best.lua``),
so choosing and holding are one atomic step. :func:`choose` is the same walk in Python: the
reference the script is tested against.

The walk:

1. the best window whose seats are all free and that leaves no *orphan*, a single free seat
   between the window and a taken seat or the row's end (nobody buys it alone);
2. else the best window whose seats are all free;
3. else, when no row has N free adjacent seats, the N best free single seats;
4. else nothing (fewer than N seats free).

Seats in a row are adjacent when they follow each other in x order without an aisle: a gap
wider than ``AISLE_FACTOR`` times the row's usual spacing splits the row. Accessible
(wheelchair) seats are offered only when asked for, and then every window holds at least one.
"""

from __future__ import annotations

import math
import struct
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from itertools import pairwise
from statistics import median

from seatmap.plan import Seat, SeatPlan

MAX_BEST = 20
"""Most seats one best-available request may ask for."""
AISLE_FACTOR = 1.8
NONE = -1


@dataclass(frozen=True, slots=True)
class Window:
    """N adjacent seats of a row, and the two seats on each side (``NONE`` past the row's
    end or an aisle), which tell whether taking the window leaves an orphan."""

    seats: tuple[int, ...]
    left: tuple[int, int]  # the seat next to the window, then the one after it
    right: tuple[int, int]


@dataclass(frozen=True, slots=True)
class Candidates:
    windows: tuple[Window, ...]
    singles: tuple[int, ...]

    def pack(self) -> tuple[bytes, bytes]:
        """The form the Redis script reads a few records at a time: the windows, each its
        seats then left1, left2, right1, right2, and the singles; little-endian int32s."""
        windows = b"".join(
            struct.pack(f"<{len(w.seats) + 4}i", *w.seats, *w.left, *w.right) for w in self.windows
        )
        return windows, struct.pack(f"<{len(self.singles)}i", *self.singles)


def row_segments(plan: SeatPlan) -> list[list[int]]:
    """Seat indices of each row, in x order, split at aisles."""
    rows: dict[tuple[str, str], list[int]] = {}
    for index, seat in enumerate(plan.seats):
        rows.setdefault((seat.zone, seat.row), []).append(index)
    segments: list[list[int]] = []
    for members in rows.values():
        members.sort(key=lambda i: (plan.seats[i].x, plan.seats[i].y))
        gaps = [plan.seats[b].x - plan.seats[a].x for a, b in pairwise(members)]
        usual = median(gaps) if gaps else 0.0
        current = [members[0]]
        for gap, index in zip(gaps, members[1:], strict=True):
            if usual > 0 and gap > AISLE_FACTOR * usual:
                segments.append(current)
                current = []
            current.append(index)
        segments.append(current)
    return segments


def _fits(categories: Collection[str], accessible: bool) -> Callable[[Seat], bool]:
    def fits(seat: Seat) -> bool:
        if categories and seat.category not in categories:
            return False
        return accessible or not seat.accessible

    return fits


def candidates(
    plan: SeatPlan, n: int, categories: Collection[str] = (), accessible: bool = False
) -> Candidates:
    """The ranked windows and singles for ``n`` seats of ``categories`` (empty: any)."""
    if not 1 <= n <= MAX_BEST:
        raise ValueError(f"n must be between 1 and {MAX_BEST}")
    fits = _fits(categories, accessible)
    fx, fy = plan.focal_point

    def distance(indices: Sequence[int]) -> float:
        x = sum(plan.seats[i].x for i in indices) / len(indices)
        y = sum(plan.seats[i].y for i in indices) / len(indices)
        return math.hypot(x - fx, y - fy)

    ranked: list[tuple[float, int, Window]] = []
    for segment in row_segments(plan):
        for start in range(len(segment) - n + 1):
            seats = segment[start : start + n]
            if not all(fits(plan.seats[i]) for i in seats):
                continue
            if accessible and not any(plan.seats[i].accessible for i in seats):
                continue
            left = [segment[j] if j >= 0 else NONE for j in (start - 1, start - 2)]
            right = [segment[j] if j < len(segment) else NONE for j in (start + n, start + n + 1)]
            window = Window(tuple(seats), (left[0], left[1]), (right[0], right[1]))
            ranked.append((distance(seats), seats[0], window))
    ranked.sort(key=lambda r: (r[0], r[1]))
    singles = [i for i, seat in enumerate(plan.seats) if fits(seat)]
    # Asked for a wheelchair place: the accessible seats come first, then companions.
    singles.sort(key=lambda i: (accessible and not plan.seats[i].accessible, distance([i]), i))
    return Candidates(tuple(w for _, _, w in ranked), tuple(singles))


def leaves_orphan(window: Window, free: Callable[[int], bool]) -> bool:
    """A free seat right next to the window whose other neighbour is taken or absent."""
    for near, far in (window.left, window.right):
        if near != NONE and free(near) and (far == NONE or not free(far)):
            return True
    return False


def choose(found: Candidates, n: int, free: Callable[[int], bool]) -> tuple[int, ...] | None:
    """The walk of the module docstring; ``free(i)`` tells whether seat ``i`` is free."""
    open_windows = [w for w in found.windows if all(free(i) for i in w.seats)]
    for window in open_windows:
        if not leaves_orphan(window, free):
            return window.seats
    if open_windows:
        return open_windows[0].seats
    chosen = tuple(i for i in found.singles if free(i))[:n]
    return chosen if len(chosen) == n else None
