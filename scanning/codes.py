"""Signed, offline-verifiable ticket codes (format ``GQ`` version 1).

A ticket code is the text carried by the QR code printed on a ticket. It is a
fixed-layout binary payload (version, key id, scope, ticket id, scope id,
validity window, random seed) followed by a 64-byte Ed25519 signature, encoded
with base45 (RFC 9285) so that the whole text fits the QR *alphanumeric* mode,
and prefixed with the scheme tag ``GQ``.  See ``docs/ticket-codes.md`` for the
byte layout, the rationale and the key-rotation / revocation procedures.

Signing needs a :class:`KeyRing` (server side, private keys).  Verification
only needs the raw public keys (``KeyRing.public_keys()``), so door scanners can
run :func:`verify_code` offline.  Verification checks authenticity only: the
validity window, the scope, revocation and "already scanned" are decided by the
scan logic, not here.

This module is pure: no I/O, no database, no web framework.
"""

from __future__ import annotations

import base64
import binascii
import os
import struct
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from functools import lru_cache
from typing import Final, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

__all__ = [
    "CODE_LENGTH",
    "CODE_PREFIX",
    "FORMAT_VERSION",
    "KEY_ID_MAX",
    "SEED_LENGTH",
    "SIGNATURE_CONTEXT",
    "CodeError",
    "CodeErrorReason",
    "KeyRing",
    "KeyRingError",
    "SigningKey",
    "StoredKey",
    "TicketClaims",
    "TicketScope",
    "b45decode",
    "b45encode",
    "encode_code",
    "verify_code",
]

# --------------------------------------------------------------------------- format constants

CODE_PREFIX: Final = "GQ"
"""Scheme tag in front of every Guichet ticket code (QR alphanumeric characters only)."""

FORMAT_VERSION: Final = 1
"""Value of payload byte 0. Signed, so a code cannot be re-labelled as another version."""

SIGNATURE_CONTEXT: Final = b"guichet/ticket-code\x00"
"""Domain-separation prefix: the signature covers ``SIGNATURE_CONTEXT + payload``.

It is not transmitted; it guarantees a ticket signature can never be confused with
a signature the same key might (wrongly) have produced for another purpose.
"""

SEED_LENGTH: Final = 6
KEY_ID_MAX: Final = 0xFF
TICKET_ID_MAX: Final = (1 << 48) - 1
SCOPE_ID_MAX: Final = (1 << 32) - 1
TIME_MAX: Final = (1 << 32) - 1

# version u8 | key id u8 | scope u8 | ticket id u48 | scope id u32 | from u32 | until u32 | seed
_HEADER: Final = struct.Struct(">BBB")
_BODY: Final = struct.Struct(">HIIII6s")  # ticket id split as (high u16, low u32)
PAYLOAD_LENGTH: Final = _HEADER.size + _BODY.size  # 27
SIGNATURE_LENGTH: Final = 64
RAW_LENGTH: Final = PAYLOAD_LENGTH + SIGNATURE_LENGTH  # 91
CODE_LENGTH: Final = len(CODE_PREFIX) + (RAW_LENGTH // 2) * 3 + (RAW_LENGTH % 2) * 2  # 139

_MAX_INPUT_LENGTH: Final = 1024


# --------------------------------------------------------------------------- errors

CodeErrorReason = Literal["unknown", "forged"]


class CodeError(Exception):
    """A scanned text is not a valid Guichet ticket code.

    ``reason`` is a stable machine-readable string:

    * ``"unknown"``: not a Guichet code at all, unparseable, or an unsupported version;
    * ``"forged"``: well-formed, but the signature is invalid or the key id is
      unknown or retired.
    """

    def __init__(self, reason: CodeErrorReason, detail: str = "") -> None:
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason: CodeErrorReason = reason
        self.detail = detail


class KeyRingError(ValueError):
    """Invalid key-ring operation (unknown/duplicate/retired key id, no active key...)."""


# --------------------------------------------------------------------------- claims


class TicketScope(StrEnum):
    """What ``TicketClaims.scope_id`` refers to."""

    SESSION = "session"
    """A ticket valid for one session; ``scope_id`` is the session id."""
    PASS = "pass"
    """A pass valid for many sessions; ``scope_id`` is the pass id."""


_SCOPE_TO_BYTE: Final[dict[TicketScope, int]] = {TicketScope.SESSION: 1, TicketScope.PASS: 2}
_BYTE_TO_SCOPE: Final[dict[int, TicketScope]] = {v: k for k, v in _SCOPE_TO_BYTE.items()}


def _check_uint(name: str, value: object, maximum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if not 0 <= value <= maximum:
        raise ValueError(f"{name} must be in [0, {maximum}], got {value}")


@dataclass(frozen=True, slots=True)
class TicketClaims:
    """What a ticket code asserts, once its signature has been checked.

    ``valid_from`` / ``valid_until`` are unix seconds (inclusive window, uint32).
    ``seed`` is random per issued code: re-issuing a code for the same ticket
    (after a change) gives a different code, and a revocation can target exactly
    one code through :attr:`code_ref`.
    """

    ticket_id: int
    scope: TicketScope
    scope_id: int
    valid_from: int
    valid_until: int
    seed: bytes

    def __post_init__(self) -> None:
        _check_uint("ticket_id", self.ticket_id, TICKET_ID_MAX)
        try:
            scope = TicketScope(self.scope)
        except ValueError:
            raise ValueError(f"invalid scope {self.scope!r}") from None
        object.__setattr__(self, "scope", scope)
        _check_uint("scope_id", self.scope_id, SCOPE_ID_MAX)
        _check_uint("valid_from", self.valid_from, TIME_MAX)
        _check_uint("valid_until", self.valid_until, TIME_MAX)
        if self.valid_from > self.valid_until:
            raise ValueError("valid_from must not be after valid_until")
        if not isinstance(self.seed, bytes) or len(self.seed) != SEED_LENGTH:
            raise ValueError(f"seed must be exactly {SEED_LENGTH} bytes")

    @classmethod
    def issue(
        cls,
        *,
        ticket_id: int,
        scope: TicketScope,
        scope_id: int,
        valid_from: int,
        valid_until: int,
    ) -> TicketClaims:
        """Build claims for a newly issued code, with a fresh random seed."""
        return cls(
            ticket_id=ticket_id,
            scope=scope,
            scope_id=scope_id,
            valid_from=valid_from,
            valid_until=valid_until,
            seed=os.urandom(SEED_LENGTH),
        )

    @property
    def code_ref(self) -> str:
        """Stable identifier of this one issued code: ``"<ticket_id>:<seed hex>"``.

        This is what a revocation list stores; it is the same on server and scanner.
        """
        return f"{self.ticket_id}:{self.seed.hex()}"


# --------------------------------------------------------------------------- base45 (RFC 9285)

_B45_ALPHABET: Final = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
_B45_INDEX: Final[dict[str, int]] = {c: i for i, c in enumerate(_B45_ALPHABET)}


def b45encode(data: bytes) -> str:
    """Encode bytes with base45 (RFC 9285): 2 bytes -> 3 chars, trailing byte -> 2 chars."""
    out: list[str] = []
    for i in range(0, len(data) - 1, 2):
        n = (data[i] << 8) | data[i + 1]
        n, c = divmod(n, 45)
        e, d = divmod(n, 45)
        out += (_B45_ALPHABET[c], _B45_ALPHABET[d], _B45_ALPHABET[e])
    if len(data) % 2:
        e, c = divmod(data[-1], 45)
        out += (_B45_ALPHABET[c], _B45_ALPHABET[e])
    return "".join(out)


def b45decode(text: str) -> bytes:
    """Decode base45 (RFC 9285). Raises ``ValueError`` on any non-canonical input."""
    if len(text) % 3 == 1:
        raise ValueError("invalid base45 length")
    try:
        digits = [_B45_INDEX[ch] for ch in text]
    except KeyError as exc:
        raise ValueError(f"invalid base45 character {exc.args[0]!r}") from None
    out = bytearray()
    for i in range(0, len(digits), 3):
        chunk = digits[i : i + 3]
        if len(chunk) == 3:
            n = chunk[0] + chunk[1] * 45 + chunk[2] * 2025
            if n > 0xFFFF:
                raise ValueError("base45 triplet out of range")
            out += n.to_bytes(2, "big")
        else:
            n = chunk[0] + chunk[1] * 45
            if n > 0xFF:
                raise ValueError("base45 pair out of range")
            out.append(n)
    return bytes(out)


# --------------------------------------------------------------------------- keys


def _check_key_id(key_id: int) -> None:
    try:
        _check_uint("key_id", key_id, KEY_ID_MAX)
    except (TypeError, ValueError) as exc:
        raise KeyRingError(str(exc)) from None


@dataclass(frozen=True, eq=False, slots=True)
class SigningKey:
    """An Ed25519 private key with its key id (0-255)."""

    key_id: int
    private_key: Ed25519PrivateKey = field(repr=False)

    def __post_init__(self) -> None:
        _check_key_id(self.key_id)

    @classmethod
    def generate(cls, key_id: int) -> SigningKey:
        """A fresh random key."""
        return cls(key_id, Ed25519PrivateKey.generate())

    @classmethod
    def from_b64(cls, key_id: int, text: str) -> SigningKey:
        """Load a key from :meth:`to_b64` output (standard base64 of the raw 32-byte seed)."""
        try:
            raw = base64.b64decode(text.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise KeyRingError("private key is not valid base64") from None
        if len(raw) != 32:
            raise KeyRingError("an Ed25519 private key is 32 raw bytes")
        return cls(key_id, Ed25519PrivateKey.from_private_bytes(raw))

    def to_b64(self) -> str:
        """Standard base64 of the raw 32-byte private key (store it as a secret)."""
        return base64.b64encode(self.private_key.private_bytes_raw()).decode("ascii")

    def public_bytes(self) -> bytes:
        """Raw 32-byte Ed25519 public key (what scanners receive)."""
        return self.private_key.public_key().public_bytes_raw()

    def sign(self, message: bytes) -> bytes:
        return self.private_key.sign(message)


@dataclass(frozen=True, slots=True)
class StoredKey:
    """One key-ring entry in storable form (a database row / config entry).

    ``private_key_b64`` is ``None`` for retired keys: retiring destroys the key
    material but keeps the id reserved so it is never reused.
    """

    key_id: int
    private_key_b64: str | None = field(repr=False)
    active: bool = False
    retired: bool = False


class KeyRing:
    """Ed25519 signing keys by key id, with one active key for new codes.

    Life cycle of a key: *standby* (generated, public key distributed to scanners,
    not yet signing) -> *active* (signs new codes; exactly one at a time) ->
    *standby* again after the next rotation (still verifies codes already issued)
    -> *retired* (private key destroyed, removed from :meth:`public_keys`, so
    every code it signed now fails with ``"forged"``).  Key ids are never reused.
    """

    def __init__(self) -> None:
        self._keys: dict[int, SigningKey] = {}
        self._retired: set[int] = set()
        self._active: int | None = None

    # -- building --------------------------------------------------------------------------

    def _reserve(self, key_id: int) -> None:
        _check_key_id(key_id)
        if key_id in self._keys or key_id in self._retired:
            raise KeyRingError(f"key id {key_id} is already used (ids are never reused)")

    def add_key(self, key: SigningKey, *, activate: bool = False) -> None:
        """Add an existing key. The first key of an empty ring becomes active."""
        self._reserve(key.key_id)
        self._keys[key.key_id] = key
        if activate or self._active is None:
            self._active = key.key_id

    def generate_key(self, key_id: int, *, activate: bool = False) -> SigningKey:
        """Generate and add a new key (standby unless ``activate`` or the ring has no active key).

        Recommended rotation: generate in standby, let scanners sync the new public
        key, then :meth:`activate` it.
        """
        self._reserve(key_id)
        key = SigningKey.generate(key_id)
        self.add_key(key, activate=activate)
        return key

    def import_key(self, key_id: int, private_key_b64: str, *, activate: bool = False) -> None:
        """Add a key serialised with :meth:`export_key`."""
        self.add_key(SigningKey.from_b64(key_id, private_key_b64), activate=activate)

    def export_key(self, key_id: int) -> str:
        """Base64 of the raw private key of a live (non-retired) key."""
        return self._live(key_id).to_b64()

    def activate(self, key_id: int) -> None:
        """Make ``key_id`` the key that signs new codes; the previous one stays valid."""
        self._active = self._live(key_id).key_id

    def retire(self, key_id: int) -> None:
        """Retire a key: destroy its private key; codes it signed no longer verify.

        Retiring the active key (e.g. after a compromise) leaves the ring without
        an active key until another one is activated.
        """
        self._live(key_id)
        del self._keys[key_id]
        self._retired.add(key_id)
        if self._active == key_id:
            self._active = None

    # -- queries ---------------------------------------------------------------------------

    def _live(self, key_id: int) -> SigningKey:
        if key_id in self._retired:
            raise KeyRingError(f"key id {key_id} is retired")
        try:
            return self._keys[key_id]
        except KeyError:
            raise KeyRingError(f"unknown key id {key_id}") from None

    @property
    def active_key_id(self) -> int | None:
        return self._active

    def signing_key(self) -> SigningKey:
        """The active key. Raises :class:`KeyRingError` if there is none."""
        if self._active is None:
            raise KeyRingError("the key ring has no active key")
        return self._keys[self._active]

    def key_ids(self) -> list[int]:
        """Ids of live (non-retired) keys, sorted."""
        return sorted(self._keys)

    def retired_key_ids(self) -> list[int]:
        return sorted(self._retired)

    def public_keys(self) -> dict[int, bytes]:
        """Raw 32-byte public keys of all live keys: what offline scanners receive."""
        return {kid: self._keys[kid].public_bytes() for kid in sorted(self._keys)}

    # -- persistence -----------------------------------------------------------------------

    def stored_keys(self) -> list[StoredKey]:
        """Every entry (live and retired) in storable form, sorted by key id."""
        entries = [
            StoredKey(kid, key.to_b64(), active=kid == self._active)
            for kid, key in self._keys.items()
        ]
        entries += [StoredKey(kid, None, retired=True) for kid in self._retired]
        return sorted(entries, key=lambda e: e.key_id)

    @classmethod
    def from_stored(cls, entries: Iterable[StoredKey]) -> KeyRing:
        """Rebuild a ring from :meth:`stored_keys` output. At most one entry may be active."""
        ring = cls()
        active: int | None = None
        for entry in entries:
            if entry.retired:
                if entry.active:
                    raise KeyRingError(f"key id {entry.key_id} is both retired and active")
                ring._reserve(entry.key_id)
                ring._retired.add(entry.key_id)
                continue
            if entry.private_key_b64 is None:
                raise KeyRingError(f"key id {entry.key_id} has no private key")
            ring._reserve(entry.key_id)
            ring._keys[entry.key_id] = SigningKey.from_b64(entry.key_id, entry.private_key_b64)
            if entry.active:
                if active is not None:
                    raise KeyRingError("more than one active key")
                active = entry.key_id
        ring._active = active
        return ring


# --------------------------------------------------------------------------- encode / verify


def _pack(claims: TicketClaims, key_id: int) -> bytes:
    return _HEADER.pack(FORMAT_VERSION, key_id, _SCOPE_TO_BYTE[claims.scope]) + _BODY.pack(
        claims.ticket_id >> 32,
        claims.ticket_id & 0xFFFFFFFF,
        claims.scope_id,
        claims.valid_from,
        claims.valid_until,
        claims.seed,
    )


def encode_code(claims: TicketClaims, ring: KeyRing) -> str:
    """Sign ``claims`` with the ring's active key and return the QR text (139 chars)."""
    key = ring.signing_key()
    payload = _pack(claims, key.key_id)
    signature = key.sign(SIGNATURE_CONTEXT + payload)
    return CODE_PREFIX + b45encode(payload + signature)


def decode_key_id(text: str) -> int | None:
    """The key id a code claims to be signed with (unverified), or None if it is no code."""
    if not isinstance(text, str) or not text.startswith(CODE_PREFIX):
        return None
    try:
        raw = b45decode(text.rstrip("\r\n")[len(CODE_PREFIX) :])
    except ValueError:
        return None
    if len(raw) != RAW_LENGTH or raw[0] != FORMAT_VERSION:
        return None
    key_id: int = raw[1]
    return key_id


@lru_cache(maxsize=64)
def _public_key(raw: bytes) -> Ed25519PublicKey:
    """A public key object, parsed once per key (keys are few and immutable)."""
    return Ed25519PublicKey.from_public_bytes(raw)


def verify_code(text: str, public_keys: Mapping[int, bytes]) -> TicketClaims:
    """Check a scanned code's signature and return its claims.

    ``public_keys`` maps key id -> raw 32-byte Ed25519 public key (as returned by
    :meth:`KeyRing.public_keys`); no private key is needed, so this runs offline.
    Raises :class:`CodeError` with reason ``"unknown"`` or ``"forged"``.  A
    malformed entry in ``public_keys`` is a configuration error (``ValueError``).
    The validity window is *not* checked here.
    """
    if not isinstance(text, str) or len(text) > _MAX_INPUT_LENGTH:
        raise CodeError("unknown", "not a ticket code")
    text = text.rstrip("\r\n")  # keyboard-wedge scanners append a line ending
    if not text.startswith(CODE_PREFIX):
        raise CodeError("unknown", "missing scheme tag")
    try:
        raw = b45decode(text[len(CODE_PREFIX) :])
    except ValueError as exc:
        raise CodeError("unknown", str(exc)) from None
    if len(raw) < _HEADER.size or raw[0] != FORMAT_VERSION:
        raise CodeError("unknown", "unsupported format version")
    if len(raw) != RAW_LENGTH:
        raise CodeError("unknown", "bad length")
    payload, signature = raw[:PAYLOAD_LENGTH], raw[PAYLOAD_LENGTH:]
    _version, key_id, scope_byte = _HEADER.unpack_from(payload)
    scope = _BYTE_TO_SCOPE.get(scope_byte)
    if scope is None:
        raise CodeError("unknown", "unknown scope")

    public_raw = public_keys.get(key_id)
    if public_raw is None:
        raise CodeError("forged", f"unknown or retired key id {key_id}")
    public_key = _public_key(public_raw)
    try:
        public_key.verify(signature, SIGNATURE_CONTEXT + payload)
    except InvalidSignature:
        raise CodeError("forged", "bad signature") from None

    hi, lo, scope_id, valid_from, valid_until, seed = _BODY.unpack_from(payload, _HEADER.size)
    try:
        return TicketClaims(
            ticket_id=(hi << 32) | lo,
            scope=scope,
            scope_id=scope_id,
            valid_from=valid_from,
            valid_until=valid_until,
            seed=seed,
        )
    except ValueError as exc:  # signed by us, so only possible with a buggy signer
        raise CodeError("unknown", str(exc)) from None
