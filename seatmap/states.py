"""Seat states as shown on every seat map, and their compact wire codes."""

from __future__ import annotations

from enum import IntEnum


class SeatState(IntEnum):
    """The state of one seat of one session.

    The integer value is the wire code: a snapshot is a string with one digit per seat
    (``"0"`` free, ``"1"`` held, ``"2"`` sold, ``"3"`` unavailable) and a delta carries
    ``[seat_index, code]`` pairs. Clients colour *held* seats of their own hold token
    differently from seats held by others; the server never reveals whose hold it is.
    """

    FREE = 0
    HELD = 1
    SOLD = 2
    UNAVAILABLE = 3

    @property
    def label(self) -> str:
        return self.name.lower()


# Values stored in the Redis seat hash (absent means free). A held seat stores
# ``HELD_PREFIX + hold_token`` so the Lua scripts can tell the holder.
REDIS_SOLD = "s"
REDIS_BLOCKED = "b"
HELD_PREFIX = "h"


def state_of_redis_value(value: str | None) -> SeatState:
    """Map a raw Redis seat value to its public state."""
    if value is None or value == "":
        return SeatState.FREE
    if value == REDIS_SOLD:
        return SeatState.SOLD
    if value == REDIS_BLOCKED:
        return SeatState.UNAVAILABLE
    if value.startswith(HELD_PREFIX):
        return SeatState.HELD
    raise ValueError(f"unknown seat value {value!r}")


def encode_states(n_seats: int, non_free: dict[int, SeatState]) -> str:
    """Encode the states of ``n_seats`` seats as one digit per seat (the snapshot form)."""
    digits = bytearray(b"0" * n_seats)
    for index, state in non_free.items():
        if 0 <= index < n_seats:
            digits[index] = 48 + int(state)
    return digits.decode("ascii")


def decode_states(encoded: str) -> list[SeatState]:
    """Inverse of :func:`encode_states`."""
    return [SeatState(ord(ch) - 48) for ch in encoded]


def encode_runs(n_seats: int, non_free: dict[int, SeatState]) -> list[list[int]]:
    """The states of ``n_seats`` seats as ``[[state, count], ...]`` runs, in seat order.

    A 20,000-seat snapshot is 20 KB as digits but usually a few hundred bytes as runs (sold
    and blocked seats come in blocks), which matters when thousands of clients resync."""
    runs: list[list[int]] = []
    last_index = -1
    for index in sorted(i for i in non_free if 0 <= i < n_seats):
        gap = index - last_index - 1
        if gap:
            _extend(runs, int(SeatState.FREE), gap)
        _extend(runs, int(non_free[index]), 1)
        last_index = index
    if n_seats - last_index - 1 > 0:
        _extend(runs, int(SeatState.FREE), n_seats - last_index - 1)
    return runs


def _extend(runs: list[list[int]], state: int, count: int) -> None:
    if runs and runs[-1][0] == state:
        runs[-1][1] += count
    else:
        runs.append([state, count])


def decode_runs(runs: list[list[int]]) -> list[SeatState]:
    """Inverse of :func:`encode_runs`."""
    return [SeatState(state) for state, count in runs for _ in range(count)]
