"""Seat-state encodings of a snapshot: digits and runs describe the same seat map."""

from __future__ import annotations

import itertools

from hypothesis import given
from hypothesis import strategies as st

from seatmap.states import SeatState, decode_runs, decode_states, encode_runs, encode_states

maps = st.integers(min_value=0, max_value=300).flatmap(
    lambda n: st.tuples(
        st.just(n),
        st.dictionaries(
            st.integers(min_value=0, max_value=max(n - 1, 0)),
            st.sampled_from([SeatState.HELD, SeatState.SOLD, SeatState.UNAVAILABLE]),
            max_size=n,
        )
        if n
        else st.just({}),
    )
)


@given(maps)
def test_runs_and_digits_decode_to_the_same_states(
    seat_map: tuple[int, dict[int, SeatState]],
) -> None:
    n, non_free = seat_map
    runs = encode_runs(n, non_free)
    assert decode_runs(runs) == decode_states(encode_states(n, non_free))
    assert sum(count for _, count in runs) == n
    assert all(a[0] != b[0] for a, b in itertools.pairwise(runs))  # maximal runs


def test_a_block_of_sold_seats_is_one_run() -> None:
    sold = {i: SeatState.SOLD for i in range(100, 5100)}
    assert encode_runs(20_000, sold) == [[0, 100], [2, 5000], [0, 14_900]]
