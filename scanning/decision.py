"""The door's decision for one scan: valid (green) or refused (red) with a stable reason.

Pure: the caller verifies the code (:func:`scanning.codes.verify_code`), looks up the
ticket's facts and the entry state, and passes them in; no I/O happens here. The same
rules run online (server) and, re-implemented in ``static/scanner.js``, offline.

Checks run in this order, the first that fails gives the reason:

1. the code itself: ``unknown`` (not a code) or ``forged`` (bad signature, unknown key);
2. the ticket exists and the code is its current one: ``unknown``;
3. the ticket is alive: ``refunded``; ``revoked`` (cancelled, or this code was revoked or
   replaced by a newer code);
4. a pass (scope ``pass``): ``pass_not_valid_for_session`` (not among its sessions, or
   its ``max_sessions`` are booked elsewhere), then ``session_full`` (a pass books its
   seat when scanned);
5. the scanner's filters: ``wrong_room`` then ``wrong_session``;
6. the code's validity window at the time of the scan: ``not_yet_valid``, ``expired``
   (entry scans only: leaving after the end of the session is normal);
7. the passage, against the ticket's entry for the session (:class:`Entry`):

   * an entry scan: first scan wins, ``already_entered`` with when and at which door while
     the holder is inside; once the holder went out, ``no_reentry`` unless the session
     allows re-entry;
   * an exit scan: ``not_inside`` when the ticket never entered or is out already.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, Literal

from scanning.codes import CodeError, TicketClaims, TicketScope

__all__ = [
    "Decision",
    "Entry",
    "Mode",
    "PassFacts",
    "Reason",
    "ScannerContext",
    "TicketFacts",
    "decide",
    "passage",
    "passage_in",
    "precheck",
]


class Reason(StrEnum):
    """Stable reason codes of a refused scan (shown on the scanner, stored with the scan)."""

    ALREADY_ENTERED = "already_entered"
    WRONG_SESSION = "wrong_session"
    WRONG_ROOM = "wrong_room"
    NOT_YET_VALID = "not_yet_valid"
    EXPIRED = "expired"
    REFUNDED = "refunded"
    REVOKED = "revoked"
    UNKNOWN = "unknown"
    FORGED = "forged"
    PASS_NOT_VALID_FOR_SESSION = "pass_not_valid_for_session"
    SESSION_FULL = "session_full"
    NO_REENTRY = "no_reentry"
    NOT_INSIDE = "not_inside"


class Mode(StrEnum):
    """Which way the scanned person goes through the door."""

    ENTRY = "entry"
    EXIT = "exit"


TicketStatus = Literal["active", "refunded", "cancelled"]


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """What the server knows about the ticket a code names."""

    ticket_id: int
    session_id: int
    room_id: int
    status: TicketStatus
    current_seed: bytes
    """Seed of the ticket's current code; an older code (other seed) is revoked."""
    revoked: bool = False
    """This very code (ticket id + seed) is on the revocation list."""


@dataclass(frozen=True, slots=True)
class PassFacts:
    """What the server knows about a pass: the sessions it may attend."""

    pass_id: int
    session_ids: frozenset[int]
    status: TicketStatus = "active"
    revoked: bool = False
    max_sessions: int | None = None
    """At most this many sessions may be booked on the pass (None: no limit)."""
    booked_sessions: frozenset[int] = frozenset()
    """The sessions already booked on the pass (active bookings)."""

    def may_attend(self, session_id: int | None) -> bool:
        """The pass may attend ``session_id``: allowed, and booked already or a booking is
        still left under ``max_sessions``."""
        if session_id is None or session_id not in self.session_ids:
            return False
        if session_id in self.booked_sessions or self.max_sessions is None:
            return True
        return len(self.booked_sessions) < self.max_sessions


@dataclass(frozen=True, slots=True)
class ScannerContext:
    """Where and when the scan happens. ``now`` is unix seconds (the device's scan time)."""

    now: float
    session_id: int | None = None
    room_id: int | None = None
    session_full: bool = False
    """For passes: the scanned session has no place left to book."""
    session_room_id: int | None = None
    """For passes: the room of ``session_id``."""
    mode: Mode = Mode.ENTRY
    reentry_allowed: bool = False
    """The session lets a ticket that went out come back in."""


@dataclass(frozen=True, slots=True)
class Entry:
    """The entry already recorded for the ticket in this session, if any."""

    at: float
    door: str
    inside: bool = True
    """False once the holder went out (an exit scan) and has not come back."""


@dataclass(frozen=True, slots=True)
class Decision:
    reason: Reason | None
    session_id: int | None = None
    entered_at: float | None = None
    door: str | None = None

    @property
    def valid(self) -> bool:
        return self.reason is None

    @property
    def result(self) -> Literal["valid", "refused"]:
        return "valid" if self.reason is None else "refused"


VALID: Final = Decision(None)


def _refused(reason: Reason, session_id: int | None = None) -> Decision:
    return Decision(reason, session_id)


def precheck(
    claims: TicketClaims | CodeError,
    facts: TicketFacts | PassFacts | None,
    context: ScannerContext,
) -> Decision:
    """Every check except "already entered". Valid decisions carry the session to enter."""
    if isinstance(claims, CodeError):
        return _refused(Reason.FORGED if claims.reason == "forged" else Reason.UNKNOWN)
    if claims.scope is TicketScope.PASS:
        return _precheck_pass(claims, facts, context)
    if not isinstance(facts, TicketFacts) or facts.ticket_id != claims.ticket_id:
        return _refused(Reason.UNKNOWN)
    if facts.session_id != claims.scope_id:
        return _refused(Reason.UNKNOWN)
    session = facts.session_id
    if facts.status == "refunded":
        return _refused(Reason.REFUNDED, session)
    if facts.status != "active" or facts.revoked or claims.seed != facts.current_seed:
        return _refused(Reason.REVOKED, session)
    if context.room_id is not None and context.room_id != facts.room_id:
        return _refused(Reason.WRONG_ROOM, session)
    if context.session_id is not None and context.session_id != session:
        return _refused(Reason.WRONG_SESSION, session)
    window = _window(claims, context)
    if window is not None:
        return _refused(window, session)
    return Decision(None, session)


def _precheck_pass(
    claims: TicketClaims, facts: TicketFacts | PassFacts | None, context: ScannerContext
) -> Decision:
    if not isinstance(facts, PassFacts) or facts.pass_id != claims.scope_id:
        return _refused(Reason.UNKNOWN)
    session = context.session_id
    if facts.status == "refunded":
        return _refused(Reason.REFUNDED, session)
    if facts.status != "active" or facts.revoked:
        return _refused(Reason.REVOKED, session)
    if not facts.may_attend(session):
        return _refused(Reason.PASS_NOT_VALID_FOR_SESSION, session)
    if (
        context.room_id is not None
        and context.session_room_id is not None
        and context.room_id != context.session_room_id
    ):
        return _refused(Reason.WRONG_ROOM, session)
    window = _window(claims, context)
    if window is not None:
        return _refused(window, session)
    if context.session_full and context.mode is Mode.ENTRY:
        return _refused(Reason.SESSION_FULL, session)
    return Decision(None, session)


def _window(claims: TicketClaims, context: ScannerContext) -> Reason | None:
    if context.mode is Mode.EXIT:
        return None
    if context.now < claims.valid_from:
        return Reason.NOT_YET_VALID
    if context.now > claims.valid_until:
        return Reason.EXPIRED
    return None


def decide(
    claims: TicketClaims | CodeError,
    facts: TicketFacts | PassFacts | None,
    context: ScannerContext,
    entry: Entry | None,
) -> Decision:
    """The full decision: :func:`precheck`, then the passage against ``entry``."""
    decision = precheck(claims, facts, context)
    if not decision.valid and decision.reason is not Reason.SESSION_FULL:
        return decision
    return passage(decision, context, entry)


def passage(decision: Decision, context: ScannerContext, entry: Entry | None) -> Decision:
    """A scan that passed :func:`precheck` (or a pass refused only as ``session_full``),
    against the ticket's entry: in (:func:`passage_in`) or out."""
    if context.mode is Mode.EXIT:
        if entry is None or not entry.inside:
            return Decision(Reason.NOT_INSIDE, decision.session_id)
        return decision
    return passage_in(decision, context, entry)


def passage_in(decision: Decision, context: ScannerContext, entry: Entry | None) -> Decision:
    """An entry scan that passed :func:`precheck`, against the ticket's entry."""
    if entry is None:
        return decision
    session = decision.session_id
    if entry.inside:  # a pass that already entered booked its place: not "full"
        return Decision(Reason.ALREADY_ENTERED, session, entry.at, entry.door)
    if not context.reentry_allowed:
        return Decision(Reason.NO_REENTRY, session, entry.at, entry.door)
    return Decision(None, session)  # back in; a pass booked its place already: not "full"
