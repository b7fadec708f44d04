"""Tests for the signed ticket codes (scanning.codes) and their QR/PDF rendering (scanning.qr)."""

from __future__ import annotations

import io

import pytest
import segno
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from scanning.codes import (
    CODE_LENGTH,
    CODE_PREFIX,
    SEED_LENGTH,
    CodeError,
    KeyRing,
    KeyRingError,
    SigningKey,
    StoredKey,
    TicketClaims,
    TicketScope,
    b45decode,
    b45encode,
    encode_code,
    verify_code,
)
from scanning.qr import qr_png, qr_svg, ticket_pdf
from tests.pdf import pdf_text

B45_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

# One ring for the whole module: key generation is cheap but hypothesis runs many examples.
RING = KeyRing()
RING.generate_key(1)
PUBLIC = RING.public_keys()


def make_claims(**overrides: object) -> TicketClaims:
    values: dict[str, object] = {
        "ticket_id": 123_456_789,
        "scope": TicketScope.SESSION,
        "scope_id": 4242,
        "valid_from": 1_767_225_600,
        "valid_until": 1_767_240_000,
        "seed": b"\x01\x02\x03\x04\x05\x06",
    }
    values.update(overrides)
    return TicketClaims(**values)  # type: ignore[arg-type]


claims_strategy = st.builds(
    lambda tid, scope, sid, a, b, seed: TicketClaims(
        ticket_id=tid,
        scope=scope,
        scope_id=sid,
        valid_from=min(a, b),
        valid_until=max(a, b),
        seed=seed,
    ),
    st.integers(0, 2**48 - 1),
    st.sampled_from(list(TicketScope)),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.integers(0, 2**32 - 1),
    st.binary(min_size=SEED_LENGTH, max_size=SEED_LENGTH),
)


def assert_rejected(text: str, public: dict[int, bytes] = PUBLIC) -> str:
    with pytest.raises(CodeError) as info:
        verify_code(text, public)
    assert info.value.reason in ("unknown", "forged")
    return info.value.reason


# --------------------------------------------------------------------------- round trip


def test_round_trip_preserves_every_field() -> None:
    claims = make_claims()
    code = encode_code(claims, RING)
    print(f"\nticket code ({len(code)} chars): {code}")
    assert verify_code(code, PUBLIC) == claims
    got = verify_code(code, PUBLIC)
    assert got.ticket_id == 123_456_789
    assert got.scope is TicketScope.SESSION
    assert got.scope_id == 4242
    assert got.valid_from == 1_767_225_600
    assert got.valid_until == 1_767_240_000
    assert got.seed == b"\x01\x02\x03\x04\x05\x06"


def test_pass_scope_and_extreme_values_round_trip() -> None:
    claims = make_claims(
        ticket_id=2**48 - 1,
        scope=TicketScope.PASS,
        scope_id=2**32 - 1,
        valid_from=0,
        valid_until=2**32 - 1,
        seed=b"\xff" * SEED_LENGTH,
    )
    assert verify_code(encode_code(claims, RING), PUBLIC) == claims


def test_code_is_short_and_qr_alphanumeric() -> None:
    code = encode_code(make_claims(), RING)
    print(f"\ncode length: {len(code)}")
    assert len(code) == CODE_LENGTH == 139
    assert len(code) < 140
    assert code.startswith(CODE_PREFIX)
    assert set(code) <= set(B45_ALPHABET)
    qr = segno.make_qr(code, error="m", mode="alphanumeric")
    assert qr.mode == "alphanumeric"
    assert qr.version == 6  # 41 x 41 modules


def test_reissued_codes_differ_and_have_distinct_refs() -> None:
    base = dict(ticket_id=7, scope=TicketScope.SESSION, scope_id=1, valid_from=10, valid_until=20)
    a = TicketClaims.issue(**base)  # type: ignore[arg-type]
    b = TicketClaims.issue(**base)  # type: ignore[arg-type]
    assert a.seed != b.seed and len(a.seed) == SEED_LENGTH
    assert encode_code(a, RING) != encode_code(b, RING)
    assert a.code_ref != b.code_ref
    assert a.code_ref == f"7:{a.seed.hex()}"
    assert verify_code(encode_code(a, RING), PUBLIC).code_ref == a.code_ref


def test_trailing_line_ending_from_wedge_scanner_is_accepted() -> None:
    claims = make_claims()
    assert verify_code(encode_code(claims, RING) + "\r\n", PUBLIC) == claims


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(claims=claims_strategy)
def test_random_claims_round_trip(claims: TicketClaims) -> None:
    code = encode_code(claims, RING)
    assert len(code) == CODE_LENGTH
    assert verify_code(code, PUBLIC) == claims


# --------------------------------------------------------------------------- tampering


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims=claims_strategy,
    position=st.integers(0, CODE_LENGTH - 1),
    replacement=st.one_of(st.sampled_from(B45_ALPHABET), st.characters(codec="utf-8"), st.just("")),
)
def test_single_character_mutation_is_rejected(
    claims: TicketClaims, position: int, replacement: str
) -> None:
    code = encode_code(claims, RING)
    mutated = code[:position] + replacement + code[position + 1 :]
    if mutated == code:
        return
    assert_rejected(mutated)


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(
    claims=claims_strategy,
    position=st.integers(0, CODE_LENGTH),
    inserted=st.sampled_from(B45_ALPHABET),
)
def test_single_character_insertion_is_rejected(
    claims: TicketClaims, position: int, inserted: str
) -> None:
    code = encode_code(claims, RING)
    assert_rejected(code[:position] + inserted + code[position:])


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow])
@given(claims=claims_strategy, keep=st.integers(0, CODE_LENGTH - 1))
def test_truncation_is_rejected(claims: TicketClaims, keep: int) -> None:
    code = encode_code(claims, RING)
    assert_rejected(code[:keep])


def test_every_single_position_mutation_is_rejected() -> None:
    """Exhaustive over positions and the whole base45 alphabet for one code."""
    code = encode_code(make_claims(), RING)
    for i, original in enumerate(code):
        for ch in B45_ALPHABET:
            if ch != original:
                assert_rejected(code[:i] + ch + code[i + 1 :])


def test_payload_tampering_with_valid_encoding_is_forged() -> None:
    code = encode_code(make_claims(ticket_id=1000), RING)
    raw = bytearray(b45decode(code[len(CODE_PREFIX) :]))
    raw[8] ^= 0x01  # lowest byte of the ticket id
    tampered = CODE_PREFIX + b45encode(bytes(raw))
    assert assert_rejected(tampered) == "forged"


@pytest.mark.parametrize(
    "junk",
    [
        "",
        "hello",
        "https://example.com/ticket/123",
        "GQ",
        "GQ1",
        "gq" + "0" * 137,
        "XX" + "0" * 137,
        "GQ" + "0" * 137,  # right shape, version byte 0
        "GQ" + ":" * 137,  # base45 triplet out of range
        "GQ" + "A" * 5000,
        "\x00" * 139,
    ],
)
def test_junk_is_unknown(junk: str) -> None:
    assert assert_rejected(junk) == "unknown"


# --------------------------------------------------------------------------- keys


def test_unknown_key_id_is_forged() -> None:
    ring = KeyRing()
    ring.generate_key(9)
    code = encode_code(make_claims(), ring)
    assert assert_rejected(code) == "forged"  # PUBLIC only knows key 1


def test_wrong_public_key_for_id_is_forged() -> None:
    other = KeyRing()
    other.generate_key(1)
    code = encode_code(make_claims(), other)
    assert assert_rejected(code) == "forged"


def test_rotation_old_and_new_codes_verify_then_retirement_forges() -> None:
    ring = KeyRing()
    ring.generate_key(1)
    assert ring.active_key_id == 1
    code1 = encode_code(make_claims(), ring)

    ring.generate_key(2)  # standby: published first, not yet signing
    assert ring.active_key_id == 1
    assert sorted(ring.public_keys()) == [1, 2]
    assert (
        verify_code(encode_code(make_claims(), ring), ring.public_keys()).ticket_id == 123_456_789
    )

    ring.activate(2)
    code2 = encode_code(make_claims(ticket_id=5), ring)
    assert b45decode(code2[2:])[1] == 2  # key id byte
    public = ring.public_keys()
    assert verify_code(code2, public).ticket_id == 5
    assert verify_code(code1, public).ticket_id == 123_456_789  # key 1 still live

    ring.retire(1)
    public = ring.public_keys()
    assert list(public) == [2]
    with pytest.raises(CodeError) as info:
        verify_code(code1, public)
    assert info.value.reason == "forged"
    assert verify_code(code2, public).ticket_id == 5
    with pytest.raises(KeyRingError):
        ring.generate_key(1)  # ids are never reused
    with pytest.raises(KeyRingError):
        ring.activate(1)
    with pytest.raises(KeyRingError):
        ring.export_key(1)


def test_code_signed_by_key_2_verifies_while_key_1_is_active() -> None:
    signer = KeyRing()
    signer.generate_key(2)
    ring = KeyRing()
    ring.generate_key(1)
    ring.import_key(2, signer.export_key(2))
    assert ring.active_key_id == 1
    code = encode_code(make_claims(), signer)
    assert verify_code(code, ring.public_keys()) == make_claims()


def test_retiring_active_key_stops_signing() -> None:
    ring = KeyRing()
    ring.generate_key(1)
    ring.retire(1)
    assert ring.active_key_id is None
    with pytest.raises(KeyRingError):
        encode_code(make_claims(), ring)


def test_private_key_base64_round_trip() -> None:
    key = SigningKey.generate(3)
    text = key.to_b64()
    assert len(text) == 44
    again = SigningKey.from_b64(3, text)
    assert again.public_bytes() == key.public_bytes()
    assert len(key.public_bytes()) == 32
    assert text not in repr(key)
    for bad in ["not base64!", "AAAA", ""]:
        with pytest.raises(KeyRingError):
            SigningKey.from_b64(3, bad)
    with pytest.raises(KeyRingError):
        SigningKey.generate(256)


def test_stored_keys_round_trip() -> None:
    ring = KeyRing()
    ring.generate_key(1)
    ring.generate_key(2, activate=True)
    ring.generate_key(3)
    ring.retire(1)
    stored = ring.stored_keys()
    assert [(s.key_id, s.active, s.retired) for s in stored] == [
        (1, False, True),
        (2, True, False),
        (3, False, False),
    ]
    assert stored[0].private_key_b64 is None
    again = KeyRing.from_stored(stored)
    assert again.active_key_id == 2
    assert again.public_keys() == ring.public_keys()
    assert again.retired_key_ids() == [1]
    code = encode_code(make_claims(), again)
    assert verify_code(code, ring.public_keys()) == make_claims()
    with pytest.raises(KeyRingError):
        KeyRing.from_stored([StoredKey(5, None)])


def test_claims_validation() -> None:
    with pytest.raises(ValueError):
        make_claims(valid_from=20, valid_until=10)
    with pytest.raises(ValueError):
        make_claims(ticket_id=2**48)
    with pytest.raises(ValueError):
        make_claims(ticket_id=-1)
    with pytest.raises(ValueError):
        make_claims(seed=b"short")
    with pytest.raises(ValueError):
        make_claims(scope="festival")
    with pytest.raises(TypeError):
        make_claims(scope_id=True)
    assert make_claims(scope="pass").scope is TicketScope.PASS


def test_base45_matches_rfc9285_examples() -> None:
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
    assert b45decode("QED8WEX0") == b"ietf!"
    with pytest.raises(ValueError):
        b45decode("GGW")  # 65536 is out of range


# --------------------------------------------------------------------------- rendering


def test_png_decodes_back_to_the_exact_code() -> None:
    zxingcpp = pytest.importorskip("zxingcpp")
    image_mod = pytest.importorskip("PIL.Image")
    code = encode_code(make_claims(), RING)
    png = qr_png(code)
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    with image_mod.open(io.BytesIO(png)) as image:
        results = zxingcpp.read_barcodes(image.convert("L"))
    assert [r.text for r in results] == [code]
    assert results[0].format == zxingcpp.BarcodeFormat.QRCode


def test_svg_is_an_svg_document() -> None:
    svg = qr_svg(encode_code(make_claims(), RING))
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert 'xmlns="http://www.w3.org/2000/svg"' in svg


def test_ticket_pdf() -> None:
    code = encode_code(make_claims(), RING)
    pdf = ticket_pdf(
        code=code,
        event="Midnight Jazz Festival",
        session_start="Sat 4 Jul 2026, 20:30",
        room="Grande Salle",
        seat="Row F, seat 12",
        tariff="Adult",
        holder="Ada Lovelace",
    )
    assert pdf.startswith(b"%PDF")
    text = pdf_text(pdf)
    for expected in (
        b"Midnight Jazz Festival",
        b"Grande Salle",
        b"Row F, seat 12",
        b"Ada Lovelace",
    ):
        assert expected in text


def test_ticket_pdf_unicode_and_optional_fields() -> None:
    pdf = ticket_pdf(
        code=encode_code(make_claims(), RING),
        event="Théâtre — Łódź 東京",
        session_start="dim. 5 juil. 2026 \u2013 15:00",
        room="Salle 2",
        seat=None,
        tariff="Réduit",
        holder=None,
    )
    assert pdf.startswith(b"%PDF")
    assert b"Unreserved" in pdf_text(pdf)
