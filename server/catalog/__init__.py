"""The catalogue: venues, rooms, seat plans, sessions, tariffs, contingents, blocked seats."""
