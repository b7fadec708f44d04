"""The journal: one append-only row per money movement, numbered without gaps per register
and chained by hash (docs/cash.md).

``append`` runs inside the caller's transaction. It takes the register's counter row with
``UPDATE … RETURNING`` (a row lock held to the commit), so receipt numbers are handed out in
commit order and a rolled-back transaction gives its number back; then one statement
inserts the entry, its lines and payments, and moves the register's head hash. The lines and
payments take their entry's ``created_at`` (the month they are partitioned by) from the
entry's ``RETURNING``; the entry's trigger writes its ``journal_receipts`` row, whose primary
key refuses a receipt number twice in any month (migration 0031).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.platform.errors import NotFound
from till.chain import GENESIS, Broken, Entry, Line, Payment, entry_hash, verify
from till.money import Kind, split_gross


@dataclass(frozen=True, slots=True)
class LineDraft:
    description: str
    quantity: int
    unit_gross_cents: int
    tax_rate_bp: int
    ticket_id: int | None = None
    tariff_id: int | None = None
    article_id: int | None = None
    pass_id: int | None = None


@dataclass(frozen=True, slots=True)
class PaymentDraft:
    method: str
    amount_cents: int
    given_cents: int | None = None
    change_cents: int | None = None


@dataclass(frozen=True, slots=True)
class Draft:
    """An entry before its number and hash. With lines, the total is theirs; without
    (float, cash operations, closing difference), ``total_cents`` is the amount, untaxed."""

    kind: Kind
    currency: str
    payments: tuple[PaymentDraft, ...]
    lines: tuple[LineDraft, ...] = ()
    total_cents: int = 0
    order_id: int | None = None
    reverses_id: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Appended:
    journal_id: int
    receipt_no: int
    hash: bytes
    entry: Entry


def _lines(draft: Draft) -> list[Line]:
    lines = []
    for n, d in enumerate(draft.lines, start=1):
        split = split_gross(d.quantity * d.unit_gross_cents, d.tax_rate_bp)
        lines.append(
            Line(
                n,
                d.ticket_id,
                d.tariff_id,
                d.description,
                d.quantity,
                d.unit_gross_cents,
                d.tax_rate_bp,
                split.net,
                split.tax,
                split.gross,
                d.article_id,
                d.pass_id,
            )
        )
    return lines


_INSERT = """
WITH j AS (
    INSERT INTO journal (register_id, receipt_no, register_session_id, cashier_id, kind,
        created_at, currency, total_cents, net_cents, tax_cents, order_id, reverses_id,
        reason, prev_hash, hash)
    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
    RETURNING id, created_at
), l AS (
    INSERT INTO journal_lines (journal_id, journal_created_at, line_no, ticket_id, tariff_id,
        description, quantity, unit_gross_cents, tax_rate_bp, net_cents, tax_cents,
        gross_cents, article_id, pass_id, currency)
    SELECT j.id, j.created_at, x.*, $7 FROM j, unnest($16::int[], $17::bigint[],
        $18::bigint[], $19::text[], $20::int[], $21::bigint[], $22::int[], $23::bigint[],
        $24::bigint[], $25::bigint[], $31::bigint[], $32::bigint[]) AS x
), p AS (
    INSERT INTO journal_payments (journal_id, journal_created_at, line_no, method,
        amount_cents, given_cents, change_cents, currency)
    SELECT j.id, j.created_at, y.*, $7 FROM j, unnest($26::int[], $27::text[],
        $28::bigint[], $29::bigint[], $30::bigint[]) AS y
), r AS (
    UPDATE registers SET head_hash = $15 WHERE id = $1
)
SELECT id FROM j
"""


NEXT_RECEIPT = (
    "UPDATE registers SET next_receipt = next_receipt + 1 WHERE id = $1"
    " RETURNING next_receipt - 1 AS receipt_no, head_hash"
)
"""Take the register's next receipt number and its head hash, locking its row until the
commit (a rollback gives the number back)."""


async def append(
    conn: asyncpg.Connection,
    register_id: int,
    register_session_id: int | None,
    cashier_id: int,
    draft: Draft,
    counter: Mapping[str, Any] | None = None,
) -> Appended:
    """Number, hash and insert one entry (inside the caller's transaction). ``counter``:
    the register's ``receipt_no`` and ``head_hash`` already taken by the caller with
    ``NEXT_RECEIPT`` in a statement of its own (one round trip fewer)."""
    if counter is None:
        counter = await conn.fetchrow(NEXT_RECEIPT, register_id)
    if counter is None:
        raise NotFound.of("register")
    lines = _lines(draft)
    payments = [
        Payment(n, p.method, p.amount_cents, p.given_cents, p.change_cents)
        for n, p in enumerate(draft.payments, start=1)
    ]
    total = sum(ln.gross_cents for ln in lines) if lines else draft.total_cents
    tax = sum(ln.tax_cents for ln in lines)
    entry = Entry(
        register_id=register_id,
        receipt_no=counter["receipt_no"],
        register_session_id=register_session_id,
        cashier_id=cashier_id,
        kind=draft.kind.value,
        created_at=datetime.now(UTC),
        currency=draft.currency,
        total_cents=total,
        net_cents=total - tax,
        tax_cents=tax,
        order_id=draft.order_id,
        reverses_id=draft.reverses_id,
        reason=draft.reason,
        lines=lines,
        payments=payments,
    )
    prev = bytes(counter["head_hash"])
    digest = entry_hash(prev, entry)
    journal_id = await conn.fetchval(
        _INSERT,
        register_id,
        entry.receipt_no,
        register_session_id,
        cashier_id,
        entry.kind,
        entry.created_at,
        entry.currency,
        entry.total_cents,
        entry.net_cents,
        entry.tax_cents,
        entry.order_id,
        entry.reverses_id,
        entry.reason,
        prev,
        digest,
        *_columns(lines, payments),
    )
    return Appended(journal_id, entry.receipt_no, digest, entry)


def _columns(lines: Sequence[Line], payments: Sequence[Payment]) -> list[list[object]]:
    return [
        [ln.line_no for ln in lines],
        [ln.ticket_id for ln in lines],
        [ln.tariff_id for ln in lines],
        [ln.description for ln in lines],
        [ln.quantity for ln in lines],
        [ln.unit_gross_cents for ln in lines],
        [ln.tax_rate_bp for ln in lines],
        [ln.net_cents for ln in lines],
        [ln.tax_cents for ln in lines],
        [ln.gross_cents for ln in lines],
        [p.line_no for p in payments],
        [p.method for p in payments],
        [p.amount_cents for p in payments],
        [p.given_cents for p in payments],
        [p.change_cents for p in payments],
        [ln.article_id for ln in lines],
        [ln.pass_id for ln in lines],
    ]


# -- reading the chain back -----------------------------------------------------------------


def entry_of(row: asyncpg.Record, lines: Sequence[Line], payments: Sequence[Payment]) -> Entry:
    return Entry(
        register_id=row["register_id"],
        receipt_no=row["receipt_no"],
        register_session_id=row["register_session_id"],
        cashier_id=row["cashier_id"],
        kind=row["kind"],
        created_at=row["created_at"],
        currency=row["currency"],
        total_cents=row["total_cents"],
        net_cents=row["net_cents"],
        tax_cents=row["tax_cents"],
        order_id=row["order_id"],
        reverses_id=row["reverses_id"],
        reason=row["reason"],
        lines=lines,
        payments=payments,
    )


async def chain(conn: asyncpg.Connection, register_id: int) -> list[tuple[Entry, bytes, bytes]]:
    """A register's entries in receipt order, as ``till.chain.verify`` reads them."""
    rows = await conn.fetch(
        "SELECT * FROM journal WHERE register_id = $1 ORDER BY receipt_no, id", register_id
    )
    line_rows = await conn.fetch(
        "SELECT l.* FROM journal_lines l JOIN journal j ON j.id = l.journal_id"
        " WHERE j.register_id = $1",
        register_id,
    )
    payment_rows = await conn.fetch(
        "SELECT p.* FROM journal_payments p JOIN journal j ON j.id = p.journal_id"
        " WHERE j.register_id = $1",
        register_id,
    )
    lines: dict[int, list[Line]] = {}
    for r in line_rows:
        lines.setdefault(r["journal_id"], []).append(
            Line(
                r["line_no"],
                r["ticket_id"],
                r["tariff_id"],
                r["description"],
                r["quantity"],
                r["unit_gross_cents"],
                r["tax_rate_bp"],
                r["net_cents"],
                r["tax_cents"],
                r["gross_cents"],
                r["article_id"],
                r["pass_id"],
            )
        )
    payments: dict[int, list[Payment]] = {}
    for r in payment_rows:
        payments.setdefault(r["journal_id"], []).append(
            Payment(
                r["line_no"], r["method"], r["amount_cents"], r["given_cents"], r["change_cents"]
            )
        )
    return [
        (
            entry_of(r, lines.get(r["id"], []), payments.get(r["id"], [])),
            bytes(r["prev_hash"]),
            bytes(r["hash"]),
        )
        for r in rows
    ]


async def verify_register(conn: asyncpg.Connection, register_id: int) -> Broken | None:
    """The first entry of the register's chain that does not verify, or ``None``. The
    register's head hash must be the last entry's (a deleted tail breaks at its first
    missing receipt number). The months detached from the journal (docs/scaling.md) left
    their anchor in ``journal_detached``: the chain goes on from their last receipt and
    hash, and any other missing head of the chain breaks as a gap."""
    register = await conn.fetchrow(
        "SELECT head_hash, next_receipt FROM registers WHERE id = $1", register_id
    )
    if register is None:
        raise NotFound.of("register")
    anchor = await conn.fetchrow(
        "SELECT last_receipt, last_hash FROM journal_detached WHERE register_id = $1"
        " ORDER BY last_receipt DESC LIMIT 1",
        register_id,
    )
    first, prev = (
        (anchor["last_receipt"] + 1, bytes(anchor["last_hash"])) if anchor else (1, GENESIS)
    )
    entries = await chain(conn, register_id)
    broken = verify(entries, first, prev)
    if broken is not None:
        return broken
    last_hash = entries[-1][2] if entries else prev
    after = first + len(entries)
    if bytes(register["head_hash"]) != last_hash or register["next_receipt"] != after:
        return Broken(after, "head")
    return None
