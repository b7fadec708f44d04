"""Seating: the live seat mirror in Redis, holds and their sweeper, the seat-map feed."""
