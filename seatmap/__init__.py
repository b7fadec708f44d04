"""Pure seat-plan core: plan format, generators, seat states, holds and deltas (no I/O)."""
