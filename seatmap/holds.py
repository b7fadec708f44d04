"""Hold-token timing rules: when a hold expires and how far it may be extended.

A hold token's clock starts at its first hold; adding seats never resets it. Extending
moves the expiry to ``now + ttl`` but never past the absolute cap fixed at creation
(seats.io's model). The Lua scripts apply the same rules; ``tests/seating/test_hold_rules.py``
checks both against one case table.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_TTL_MS = 10 * 60 * 1000
DEFAULT_CAP_MS = 30 * 60 * 1000
# While an order is being committed the hold is kept at least this long, so the sweeper
# cannot release seats that are about to be sold.
CLAIM_GRACE_MS = 30 * 1000


@dataclass(frozen=True, slots=True)
class HoldClock:
    """Creation time, current expiry and absolute cap of one hold token, in ms."""

    created_ms: int
    expires_ms: int
    cap_ms: int

    @classmethod
    def start(cls, now_ms: int, ttl_ms: int, cap_ms: int) -> HoldClock:
        cap = now_ms + max(cap_ms, ttl_ms)
        return cls(created_ms=now_ms, expires_ms=min(now_ms + ttl_ms, cap), cap_ms=cap)

    def expired(self, now_ms: int) -> bool:
        return now_ms >= self.expires_ms

    def extended(self, now_ms: int, ttl_ms: int) -> HoldClock:
        """The clock after an extension at ``now_ms``: never shorter, never past the cap."""
        new_expiry = min(max(self.expires_ms, now_ms + ttl_ms), self.cap_ms)
        return HoldClock(self.created_ms, new_expiry, self.cap_ms)

    def claimed(self, now_ms: int) -> HoldClock:
        """The clock while an order is committed: at least ``CLAIM_GRACE_MS`` left."""
        return HoldClock(
            self.created_ms, max(self.expires_ms, now_ms + CLAIM_GRACE_MS), self.cap_ms
        )
