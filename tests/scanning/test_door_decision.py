"""The pure scan decision: every reason, the order of the checks, and its invariants."""

from __future__ import annotations

import dataclasses

from hypothesis import given
from hypothesis import strategies as st

from scanning.codes import CodeError, KeyRing, TicketClaims, TicketScope, encode_code, verify_code
from scanning.decision import (
    Entry,
    PassFacts,
    Reason,
    ScannerContext,
    TicketFacts,
    decide,
    precheck,
)

SEED = b"\x01\x02\x03\x04\x05\x06"
START, END = 1_900_000_000, 1_900_010_000

CLAIMS = TicketClaims(
    ticket_id=42,
    scope=TicketScope.SESSION,
    scope_id=7,
    valid_from=START,
    valid_until=END,
    seed=SEED,
)
FACTS = TicketFacts(ticket_id=42, session_id=7, room_id=3, status="active", current_seed=SEED)
AT_DOOR = ScannerContext(now=START + 10, session_id=7, room_id=3)


def reason(claims=CLAIMS, facts=FACTS, context=AT_DOOR, entry=None):
    return decide(claims, facts, context, entry).reason


def test_a_good_ticket_at_the_right_door_is_valid() -> None:
    decision = decide(CLAIMS, FACTS, AT_DOOR, None)
    assert decision.valid and decision.result == "valid" and decision.session_id == 7


def test_scanner_without_filters_accepts_any_room_and_session() -> None:
    assert reason(context=ScannerContext(now=START)) is None


def test_already_entered_says_when_and_where() -> None:
    decision = decide(CLAIMS, FACTS, AT_DOOR, Entry(at=START + 5, door="north"))
    assert decision.reason is Reason.ALREADY_ENTERED
    assert (decision.entered_at, decision.door, decision.result) == (START + 5, "north", "refused")


def test_code_errors_map_to_forged_and_unknown() -> None:
    assert reason(claims=CodeError("forged")) is Reason.FORGED
    assert reason(claims=CodeError("unknown")) is Reason.UNKNOWN


def test_a_code_for_a_ticket_the_server_does_not_know_is_unknown() -> None:
    assert reason(facts=None) is Reason.UNKNOWN
    assert reason(facts=dataclasses.replace(FACTS, ticket_id=43)) is Reason.UNKNOWN
    assert reason(facts=dataclasses.replace(FACTS, session_id=8)) is Reason.UNKNOWN


def test_refunded_cancelled_revoked_and_replaced_codes() -> None:
    assert reason(facts=dataclasses.replace(FACTS, status="refunded")) is Reason.REFUNDED
    assert reason(facts=dataclasses.replace(FACTS, status="cancelled")) is Reason.REVOKED
    assert reason(facts=dataclasses.replace(FACTS, revoked=True)) is Reason.REVOKED
    assert reason(facts=dataclasses.replace(FACTS, current_seed=b"zzzzzz")) is Reason.REVOKED


def test_scanner_filters() -> None:
    assert reason(context=dataclasses.replace(AT_DOOR, room_id=4)) is Reason.WRONG_ROOM
    assert reason(context=dataclasses.replace(AT_DOOR, session_id=8)) is Reason.WRONG_SESSION
    both = dataclasses.replace(AT_DOOR, room_id=4, session_id=8)
    assert reason(context=both) is Reason.WRONG_ROOM


def test_validity_window_is_inclusive() -> None:
    def at(now: float) -> Reason | None:
        return reason(context=dataclasses.replace(AT_DOOR, now=now))

    assert at(START - 1) is Reason.NOT_YET_VALID
    assert at(START) is None
    assert at(END) is None
    assert at(END + 1) is Reason.EXPIRED


def test_refund_beats_every_other_reason() -> None:
    refunded = dataclasses.replace(FACTS, status="refunded")
    elsewhere = ScannerContext(now=END + 100, session_id=8, room_id=4)
    assert reason(facts=refunded, context=elsewhere, entry=Entry(1, "a")) is Reason.REFUNDED


PASS_CLAIMS = TicketClaims(
    ticket_id=9, scope=TicketScope.PASS, scope_id=5, valid_from=START, valid_until=END, seed=SEED
)
PASS = PassFacts(pass_id=5, session_ids=frozenset({7, 8}))


def test_passes() -> None:
    assert reason(PASS_CLAIMS, PASS, AT_DOOR) is None
    elsewhere = dataclasses.replace(AT_DOOR, session_id=9)
    assert reason(PASS_CLAIMS, PASS, elsewhere) is Reason.PASS_NOT_VALID_FOR_SESSION
    no_session = ScannerContext(now=START + 1)
    assert reason(PASS_CLAIMS, PASS, no_session) is Reason.PASS_NOT_VALID_FOR_SESSION
    full = dataclasses.replace(AT_DOOR, session_full=True)
    assert reason(PASS_CLAIMS, PASS, full) is Reason.SESSION_FULL
    # a pass that already entered has its place: it is "already entered", not "full"
    assert reason(PASS_CLAIMS, PASS, full, Entry(START, "n")) is Reason.ALREADY_ENTERED
    assert reason(PASS_CLAIMS, FACTS, AT_DOOR) is Reason.UNKNOWN
    assert reason(PASS_CLAIMS, dataclasses.replace(PASS, revoked=True)) is Reason.REVOKED
    wrong_room = dataclasses.replace(AT_DOOR, room_id=3, session_room_id=4)
    assert reason(PASS_CLAIMS, PASS, wrong_room) is Reason.WRONG_ROOM


def test_end_to_end_with_a_real_signed_code() -> None:
    ring = KeyRing()
    ring.generate_key(1)
    code = encode_code(CLAIMS, ring)
    assert reason(claims=verify_code(code, ring.public_keys())) is None
    tampered = code[:-3] + ("AAA" if code[-3:] != "AAA" else "BBB")
    try:
        verified: TicketClaims | CodeError = verify_code(tampered, ring.public_keys())
    except CodeError as exc:
        verified = exc
    assert reason(claims=verified) in (Reason.FORGED, Reason.UNKNOWN)


# --------------------------------------------------------------------------- properties

statuses = st.sampled_from(["active", "refunded", "cancelled"])
seeds = st.sampled_from([SEED, b"zzzzzz"])
ids = st.integers(1, 4)
times = st.integers(START - 100, END + 100)


@st.composite
def scans(draw: st.DrawFn) -> tuple[TicketClaims, TicketFacts | None, ScannerContext, Entry | None]:
    claims = TicketClaims(
        ticket_id=draw(ids),
        scope=TicketScope.SESSION,
        scope_id=draw(ids),
        valid_from=START,
        valid_until=END,
        seed=draw(seeds),
    )
    facts = draw(
        st.none()
        | st.builds(
            TicketFacts,
            ticket_id=ids,
            session_id=ids,
            room_id=ids,
            status=statuses,
            current_seed=seeds,
            revoked=st.booleans(),
        )
    )
    context = ScannerContext(
        now=draw(times), session_id=draw(st.none() | ids), room_id=draw(st.none() | ids)
    )
    entry = draw(st.none() | st.builds(Entry, at=times.map(float), door=st.just("d")))
    return claims, facts, context, entry


@given(scans())
def test_valid_only_when_every_check_passes(scan) -> None:
    claims, facts, context, entry = scan
    decision = decide(claims, facts, context, entry)
    everything_fine = (
        facts is not None
        and facts.ticket_id == claims.ticket_id
        and facts.session_id == claims.scope_id
        and facts.status == "active"
        and not facts.revoked
        and facts.current_seed == claims.seed
        and context.room_id in (None, facts.room_id)
        and context.session_id in (None, facts.session_id)
        and START <= context.now <= END
        and entry is None
    )
    assert decision.valid == everything_fine
    assert (decision.reason is None) == (decision.result == "valid")


@given(scans())
def test_an_entry_only_ever_turns_valid_into_already_entered(scan) -> None:
    claims, facts, context, _ = scan
    before = precheck(claims, facts, context)
    after = decide(claims, facts, context, Entry(START, "east"))
    if before.valid:
        assert after.reason is Reason.ALREADY_ENTERED and after.door == "east"
    else:
        assert after == before


@given(st.binary(max_size=200) | st.text(max_size=200))
def test_garbage_is_refused_never_valid(data) -> None:
    ring = KeyRing()
    ring.generate_key(1)
    text = data.hex() if isinstance(data, bytes) else data
    try:
        verified: TicketClaims | CodeError = verify_code("GQ" + text, ring.public_keys())
    except CodeError as exc:
        verified = exc
    assert not decide(verified, FACTS, AT_DOOR, None).valid
