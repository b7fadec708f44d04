"""Seat-map deltas: merging published changes into batches and catching up from the log.

Every atomic change of a session's seat map gets the next sequence number of that session
and carries absolute seat states, so applying a contiguous run of changes twice is harmless
and a batch can keep only the last state of each seat.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Change:
    """One atomic change published by a Lua script."""

    epoch: str
    seq: int
    seats: tuple[tuple[int, int], ...]
    capacity: int
    sold: int
    held: int


@dataclass(slots=True)
class Batch:
    """Contiguous changes of one channel, merged: the last state of each seat wins."""

    epoch: str
    first_seq: int
    last_seq: int
    seats: dict[int, int] = field(default_factory=dict)
    capacity: int = 0
    sold: int = 0
    held: int = 0

    @classmethod
    def of(cls, change: Change) -> Batch:
        batch = cls(change.epoch, change.seq, change.seq)
        batch.add(change)
        return batch

    def add(self, change: Change) -> None:
        if change.epoch != self.epoch:
            raise ValueError("a batch never spans two epochs")
        self.last_seq = max(self.last_seq, change.seq)
        self.first_seq = min(self.first_seq, change.seq)
        for index, state in change.seats:
            self.seats[index] = state
        self.capacity, self.sold, self.held = change.capacity, change.sold, change.held

    @property
    def free(self) -> int:
        return max(self.capacity - self.sold - self.held, 0)

    def seat_pairs(self) -> list[list[int]]:
        return [[index, state] for index, state in self.seats.items()]


def missed_changes(
    log_newest_first: Sequence[Change], since: int, current: int
) -> list[Change] | None:
    """The changes after ``since`` up to ``current`` (the session's seq), oldest first, or
    ``None`` when the log does not hold all of them (it is capped). An empty list means the
    client is up to date.
    """
    if since == current:
        return []
    missed = sorted((c for c in log_newest_first if since < c.seq <= current), key=_seq)
    expected = list(range(since + 1, current + 1))
    if since > current or [c.seq for c in missed] != expected:
        return None
    return missed


def _seq(change: Change) -> int:
    return change.seq


def merge(changes: Iterable[Change]) -> Batch | None:
    """Merge changes of one epoch into one batch (``None`` for no changes)."""
    batch: Batch | None = None
    for change in changes:
        if batch is None:
            batch = Batch.of(change)
        else:
            batch.add(change)
    return batch
