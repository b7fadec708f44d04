"""The fan-out bench's cheap viewers read a delta from its head and separators: they must
count what a full JSON parse of the server's own frames would."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from loadtests.fanout import Stats, Viewer, Worker
from server.realtime.protocol import Codec
from server.seating.feed import delta_message, up_to_date


class FakeBatch:
    def __init__(self, epoch: str, first: int, last: int, pairs: list[list[int]]) -> None:
        self.epoch, self.first_seq, self.last_seq, self.pairs = epoch, first, last, pairs
        self.capacity, self.sold, self.held, self.free = 100, 1, 2, 97

    def seat_pairs(self) -> list[list[int]]:
        return self.pairs


pairs = st.lists(st.tuples(st.integers(0, 99_999), st.integers(0, 3)).map(list), max_size=40)


@given(frames=st.lists(st.tuples(st.integers(1, 3), pairs, st.booleans()), min_size=1, max_size=12))
def test_the_head_reader_counts_as_a_full_parse_would(
    frames: list[tuple[int, list[list[int]], bool]],
) -> None:
    codec = Codec(binary=False)
    viewer = Viewer(Worker(None, baseline=False), sampled=False)
    viewer.epoch = "e1"
    expected = Stats()
    seq = 0
    for step, changes, foreign in frames:
        epoch = "e2" if foreign else "e1"
        first, last = seq + step, seq + step + len(changes)
        message = delta_message("seats:1", FakeBatch(epoch, first, last, changes))  # type: ignore[arg-type]
        assert viewer._counted(str(codec.encode(message)).encode(), viewer.owner.stats)
        if foreign:
            expected.foreign += 1
            continue
        expected.gaps += first > seq + 1
        expected.changes += len(changes)
        seq = last
    got = viewer.owner.stats
    assert (got.changes, got.gaps, got.foreign, viewer.seq) == (
        expected.changes,
        expected.gaps,
        expected.foreign,
        seq,
    )
    empty = str(codec.encode(up_to_date("seats:1", "e1", seq))).encode()
    assert viewer._counted(empty, got) and got.changes == expected.changes
    assert not viewer._counted(b'{"type":"snapshot","channel":"seats:1"}', got)
