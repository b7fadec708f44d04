"""The journal's hash chain: each entry's hash covers the previous entry's hash and a
canonical encoding of the entry with its lines and payments.

The encoding is JSON of arrays (never objects, so no key order to agree on), integers for
money and times (microseconds since the Unix epoch, UTC), ASCII only, no spaces, prefixed by
a version tag. Anyone can recompute a chain from the rows with this module alone.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

GENESIS = bytes(32)
"""The previous hash of a register's first entry."""
VERSION = b"guichet-journal-1\n"


@dataclass(frozen=True, slots=True)
class Line:
    line_no: int
    ticket_id: int | None
    tariff_id: int | None
    description: str
    quantity: int
    unit_gross_cents: int
    tax_rate_bp: int
    net_cents: int
    tax_cents: int
    gross_cents: int
    article_id: int | None = None
    pass_id: int | None = None


def _line(ln: Line) -> list[object]:
    """A line as the hash covers it. An article's line adds the article as an eleventh
    element; a pass's adds the article (none) and the pass, twelve elements; a ticket's
    keeps the ten it always had, so chains written before articles or passes existed
    still verify."""
    body: list[object] = [
        ln.line_no,
        ln.ticket_id,
        ln.tariff_id,
        ln.description,
        ln.quantity,
        ln.unit_gross_cents,
        ln.tax_rate_bp,
        ln.net_cents,
        ln.tax_cents,
        ln.gross_cents,
    ]
    if ln.pass_id is not None:
        body += [ln.article_id, ln.pass_id]
    elif ln.article_id is not None:
        body.append(ln.article_id)
    return body


@dataclass(frozen=True, slots=True)
class Payment:
    line_no: int
    method: str
    amount_cents: int
    given_cents: int | None
    change_cents: int | None


@dataclass(frozen=True, slots=True)
class Entry:
    register_id: int
    receipt_no: int
    register_session_id: int | None  # None: a bar's wallet debit
    cashier_id: int
    kind: str
    created_at: datetime
    currency: str
    total_cents: int
    net_cents: int
    tax_cents: int
    order_id: int | None
    reverses_id: int | None
    reason: str | None
    lines: Sequence[Line] = ()
    payments: Sequence[Payment] = ()


def micros(at: datetime) -> int:
    """Microseconds since the Unix epoch (what Postgres keeps of a ``timestamptz``)."""
    delta = at.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def canonical(entry: Entry) -> bytes:
    """The bytes an entry's hash covers (besides the previous hash)."""
    body = [
        entry.register_id,
        entry.receipt_no,
        entry.register_session_id,
        entry.cashier_id,
        entry.kind,
        micros(entry.created_at),
        entry.currency,
        entry.total_cents,
        entry.net_cents,
        entry.tax_cents,
        entry.order_id,
        entry.reverses_id,
        entry.reason,
        [_line(ln) for ln in sorted(entry.lines, key=lambda ln: ln.line_no)],
        [
            [p.line_no, p.method, p.amount_cents, p.given_cents, p.change_cents]
            for p in sorted(entry.payments, key=lambda p: p.line_no)
        ],
    ]
    return VERSION + json.dumps(body, separators=(",", ":"), ensure_ascii=True).encode()


def entry_hash(prev_hash: bytes, entry: Entry) -> bytes:
    if len(prev_hash) != 32:
        raise ValueError("a previous hash is 32 bytes")
    return hashlib.sha256(prev_hash + canonical(entry)).digest()


@dataclass(frozen=True, slots=True)
class Broken:
    """The first entry of a chain that does not verify, and why."""

    receipt_no: int
    reason: str  # "gap", "prev_hash", "hash"


def verify(
    chain: Sequence[tuple[Entry, bytes, bytes]], first: int = 1, prev: bytes = GENESIS
) -> Broken | None:
    """Check a register's chain: ``(entry, prev_hash, hash)`` in receipt order. Receipt
    numbers run 1, 2, 3…; each ``prev_hash`` is the hash before it; each hash is recomputed.
    ``None`` when the whole chain holds. A chain whose older entries were archived starts at
    receipt ``first``, after the archived last hash ``prev``."""
    expected_prev = prev
    for n, (entry, prev_hash, stored) in enumerate(chain, start=first):
        if entry.receipt_no != n:
            return Broken(entry.receipt_no, "gap")
        if prev_hash != expected_prev:
            return Broken(entry.receipt_no, "prev_hash")
        if entry_hash(prev_hash, entry) != stored:
            return Broken(entry.receipt_no, "hash")
        expected_prev = stored
    return None
