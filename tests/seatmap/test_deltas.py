"""Catch-up from the capped change log, and merging changes into one batch (pure)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from seatmap.deltas import Change, merge, missed_changes


def change(seq: int, *seats: tuple[int, int]) -> Change:
    return Change("e1", seq, seats, capacity=10, sold=0, held=len(seats))


@given(current=st.integers(0, 60), kept=st.integers(1, 20), since=st.integers(0, 60))
def test_catch_up_is_exact_or_refused(current: int, kept: int, since: int) -> None:
    oldest = max(current - kept + 1, 1)
    log = [change(s) for s in range(current, oldest - 1, -1)]  # newest first, capped
    missed = missed_changes(log, since, current)
    if since > current or since + 1 < oldest:
        assert missed is None  # the client must take a snapshot
    else:
        assert missed is not None
        assert [c.seq for c in missed] == list(range(since + 1, current + 1))


def test_a_hole_in_the_log_means_a_snapshot() -> None:
    log = [change(5), change(3), change(2)]
    assert missed_changes(log, 1, 5) is None
    assert missed_changes(log, 5, 5) == []


def test_merge_keeps_the_last_state_of_each_seat_and_the_seq_range() -> None:
    batch = merge([change(4, (1, 1), (2, 1)), change(5, (1, 0)), change(6, (2, 2))])
    assert batch is not None
    assert (batch.first_seq, batch.last_seq) == (4, 6)
    assert batch.seats == {1: 0, 2: 2}
