"""Best available, pure: the ranking of candidates and the walk that picks among them."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from seatmap.best import NONE, Candidates, candidates, choose, leaves_orphan, row_segments
from seatmap.generate import cinema, grid
from seatmap.plan import Category, Seat, SeatPlan


def row(n: int, *, accessible: tuple[int, ...] = (), gap_after: int | None = None) -> SeatPlan:
    """One row of ``n`` seats 10 apart (an aisle after ``gap_after``), stage above its middle."""
    seats = []
    for i in range(n):
        x = 10 * i + (30 if gap_after is not None and i > gap_after else 0)
        seats.append(Seat(f"s{i}", str(i + 1), "A", "Z", x, 50, "Std", i in accessible))
    width = max(s.x for s in seats) + 10
    return SeatPlan("row", width, 100, (Category("Std", "#000000"),), tuple(seats))


def test_an_empty_row_gives_the_middle_seats_together() -> None:
    plan = row(10)
    assert choose(candidates(plan, 4), 4, lambda i: True) == (3, 4, 5, 6)


def test_the_focal_point_decides_which_end_is_best() -> None:
    plan = grid(100, 10)  # rows A (top, near the default stage) to J
    front = choose(candidates(plan, 2), 2, lambda i: True)
    assert front is not None and {plan.seats[i].row for i in front} == {"A"}
    stage = (plan.width / 2, plan.height)  # a stage below the last row
    back = SeatPlan(plan.name, plan.width, plan.height, plan.categories, plan.seats, stage)
    chosen = choose(candidates(back, 2), 2, lambda i: True)
    assert chosen is not None and {back.seats[i].row for i in chosen} == {"J"}


def test_an_aisle_splits_a_row() -> None:
    plan = row(6, gap_after=2)
    assert row_segments(plan) == [[0, 1, 2], [3, 4, 5]]
    assert all(len(set(w.seats) & {2, 3}) < 2 for w in candidates(plan, 2).windows)


def test_wheelchair_places_only_when_asked_and_then_in_every_choice() -> None:
    plan = row(8, accessible=(0, 7))
    plain = candidates(plan, 2)
    assert all(not set(w.seats) & {0, 7} for w in plain.windows)
    assert 0 not in plain.singles and 7 not in plain.singles
    asked = candidates(plan, 2, accessible=True)
    assert asked.windows and all(set(w.seats) & {0, 7} for w in asked.windows)
    assert set(asked.singles[:2]) == {0, 7}


def test_categories_bound_the_choice() -> None:
    plan = cinema(6, 10)
    premium = candidates(plan, 3, categories={"Premium"})
    assert premium.windows
    assert all(plan.seats[i].category == "Premium" for w in premium.windows for i in w.seats)


def test_no_orphan_when_another_choice_leaves_none() -> None:
    plan = row(8)
    taken = {1}
    chosen = choose(candidates(plan, 2), 2, lambda i: i not in taken)
    # (3, 4) is nearer the middle but would strand seat 2 between it and the taken seat 1.
    assert chosen == (4, 5)


def test_scattered_seats_when_no_row_has_enough_side_by_side() -> None:
    plan = row(6)
    taken = {1, 3, 5}
    chosen = choose(candidates(plan, 2), 2, lambda i: i not in taken)
    assert chosen is not None and len(chosen) == 2 and not set(chosen) & taken
    assert choose(candidates(plan, 4), 4, lambda i: i not in taken) is None


def _windows_free(found: Candidates, free: set[int]) -> list[tuple[int, ...]]:
    return [w.seats for w in found.windows if set(w.seats) <= free]


@settings(max_examples=200, deadline=None)
@given(
    per_row=st.integers(1, 12),
    rows=st.integers(1, 4),
    n=st.integers(1, 5),
    data=st.data(),
)
def test_the_walk_keeps_its_promises(per_row: int, rows: int, n: int, data: st.DataObject) -> None:
    plan = grid(per_row * rows, per_row)
    taken = data.draw(st.sets(st.integers(0, per_row * rows - 1)))
    free = set(range(len(plan.seats))) - taken
    found = candidates(plan, n)
    chosen = choose(found, n, lambda i: i in free)
    if len(free) < n:
        assert chosen is None
        return
    assert chosen is not None and len(set(chosen)) == n and set(chosen) <= free
    open_windows = _windows_free(found, free)
    if open_windows:  # together in a row whenever possible
        assert chosen in open_windows
        clean = [
            w
            for w in found.windows
            if set(w.seats) <= free and not leaves_orphan(w, free.__contains__)
        ]
        if clean:  # and leaving no lone seat whenever possible
            assert chosen == clean[0].seats


def test_windows_name_their_neighbours() -> None:
    found = candidates(row(4), 2)
    ends = {w.seats: (w.left, w.right) for w in found.windows}
    assert ends[(0, 1)] == ((NONE, NONE), (2, 3))
    assert ends[(2, 3)] == ((1, 0), (NONE, NONE))
