"""A cash journal written the way the schema before migration 0031 held it (unpartitioned,
no `journal_created_at` on lines and payments), with every kind of row that points at an
entry: a desk sale of an article with its idempotency row, a pass sale, a refund
(reverses_id), a paid reservation and a wallet top-up with its ledger transaction. Hashes are
the real chain's (till.chain), so the chain verifies before and after the move."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg

from till.chain import GENESIS, Entry, Line, Payment, entry_hash


@dataclass
class Register:
    id: int
    session_id: int
    cashier_id: int
    next_receipt: int = 1
    head: bytes = GENESIS
    ids: list[int] = field(default_factory=list)


async def new_register(conn: asyncpg.Connection, name: str) -> Register:
    user = await conn.fetchval(
        "INSERT INTO users (username, password_hash) VALUES ($1, 'x') RETURNING id", name
    )
    pos = await conn.fetchval(
        "INSERT INTO points_of_sale (name) VALUES ($1) RETURNING id", "pos " + name
    )
    register = await conn.fetchval(
        "INSERT INTO registers (point_of_sale_id, name) VALUES ($1, $2) RETURNING id", pos, name
    )
    session = await conn.fetchval(
        "INSERT INTO register_sessions (register_id, cashier_id, currency, opening_counted,"
        " opening_cents) VALUES ($1, $2, 'EUR', '{}', 0) RETURNING id",
        register,
        user,
    )
    return Register(register, session, user)


def line(n: int, cents: int, article_id: int | None = None, pass_id: int | None = None) -> Line:
    net = cents * 10000 // 10550
    return Line(
        n, None, None, f"line {n}", 1, cents, 550, net, cents - net, cents, article_id, pass_id
    )


async def write(
    conn: asyncpg.Connection,
    reg: Register,
    at: str,
    kind: str,
    lines: list[Line],
    payments: list[Payment],
    total: int = 0,
    order_id: int | None = None,
    reverses_id: int | None = None,
) -> int:
    """One entry in the old schema's columns; returns its id."""
    total = sum(ln.gross_cents for ln in lines) if lines else total
    tax = sum(ln.tax_cents for ln in lines)
    entry = Entry(
        reg.id,
        reg.next_receipt,
        reg.session_id,
        reg.cashier_id,
        kind,
        datetime.fromisoformat(at).astimezone(UTC),
        "EUR",
        total,
        total - tax,
        tax,
        order_id,
        reverses_id,
        None,
        lines,
        payments,
    )
    digest = entry_hash(reg.head, entry)
    journal_id: int = await conn.fetchval(
        "INSERT INTO journal (register_id, receipt_no, register_session_id, cashier_id, kind,"
        " created_at, currency, total_cents, net_cents, tax_cents, order_id, reverses_id,"
        " prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, 'EUR', $7, $8, $9, $10, $11, $12,"
        " $13) RETURNING id",
        reg.id,
        entry.receipt_no,
        reg.session_id,
        reg.cashier_id,
        kind,
        entry.created_at,
        total,
        entry.net_cents,
        tax,
        order_id,
        reverses_id,
        reg.head,
        digest,
    )
    await conn.executemany(
        "INSERT INTO journal_lines (journal_id, line_no, description, quantity,"
        " unit_gross_cents, tax_rate_bp, net_cents, tax_cents, gross_cents, currency,"
        " article_id, pass_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'EUR', $10, $11)",
        [
            (
                journal_id,
                ln.line_no,
                ln.description,
                ln.quantity,
                ln.unit_gross_cents,
                ln.tax_rate_bp,
                ln.net_cents,
                ln.tax_cents,
                ln.gross_cents,
                ln.article_id,
                ln.pass_id,
            )
            for ln in lines
        ],
    )
    await conn.executemany(
        "INSERT INTO journal_payments (journal_id, line_no, method, amount_cents, given_cents,"
        " change_cents, currency) VALUES ($1, $2, $3, $4, $5, $6, 'EUR')",
        [
            (journal_id, p.line_no, p.method, p.amount_cents, p.given_cents, p.change_cents)
            for p in payments
        ],
    )
    reg.head, reg.next_receipt = digest, reg.next_receipt + 1
    await conn.execute(
        "UPDATE registers SET next_receipt = $2, head_hash = $3 WHERE id = $1",
        reg.id,
        reg.next_receipt,
        digest,
    )
    reg.ids.append(journal_id)
    return journal_id


async def season(conn: asyncpg.Connection) -> Register:
    """January to March 2024 and today, at one register, with every kind of reference."""
    reg = await new_register(conn, "season")
    family = await conn.fetchval("INSERT INTO article_families (name) VALUES ('bar') RETURNING id")
    article = await conn.fetchval(
        "INSERT INTO articles (family_id, name, price_cents, stock) VALUES ($1, 'Soda', 300, 10)"
        " RETURNING id",
        family,
    )
    pass_id = await conn.fetchval(
        "INSERT INTO passes (holder_name, valid_from, valid_until)"
        " VALUES ('Ada', '2024-01-01', '2024-12-31') RETURNING id"
    )
    order = await conn.fetchval(
        "INSERT INTO orders (idempotency_key, hold_token, channel, total_cents, currency, kind)"
        " VALUES ('seed-order', 'h', 'desk', 2000, 'EUR', 'cart') RETURNING id"
    )
    await write(
        conn,
        reg,
        "2024-01-10T09:00:00+00:00",
        "float",
        [],
        [Payment(1, "cash", 5000, None, None)],
        total=5000,
    )
    sold = await write(
        conn,
        reg,
        "2024-01-31T23:59:00+00:00",
        "sale",
        [line(1, 600, article_id=article)],
        [Payment(1, "cash", 600, 1000, 400)],
    )
    await conn.execute(
        "INSERT INTO article_sales (idempotency_key, register_session_id, fingerprint,"
        " journal_id) VALUES ('seed-article', $1, 'f', $2)",
        reg.session_id,
        sold,
    )
    pass_sale = await write(
        conn,
        reg,
        "2024-02-01T00:00:00+00:00",
        "sale",
        [line(1, 9000, pass_id=pass_id)],
        [Payment(1, "card", 9000, None, None)],
    )
    await conn.execute(
        "INSERT INTO pass_sales (idempotency_key, register_session_id, fingerprint, journal_id,"
        " pass_id) VALUES ('seed-pass', $1, 'f', $2, $3)",
        reg.session_id,
        pass_sale,
        pass_id,
    )
    await write(
        conn,
        reg,
        "2024-03-02T10:00:00+00:00",
        "refund",
        [Line(1, None, None, "line 1", -1, 600, 550, -568, -32, -600, article)],
        [Payment(1, "cash", -600, None, None)],
        reverses_id=sold,
    )
    await seed_march(conn, reg, order)
    return reg


async def seed_march(conn: asyncpg.Connection, reg: Register, order: int) -> None:
    paid = await write(
        conn,
        reg,
        "2024-03-05T10:00:00+00:00",
        "sale",
        [line(1, 2000)],
        [Payment(1, "card", 2000, None, None)],
        order_id=order,
    )
    await conn.execute(
        "INSERT INTO reservation_payments (order_id, idempotency_key, fingerprint,"
        " register_session_id, journal_id, paid_by) VALUES ($1, 'seed-resa', 'f', $2, $3, $4)",
        order,
        reg.session_id,
        paid,
        reg.cashier_id,
    )
    topup = await write(
        conn,
        reg,
        "2024-03-20T10:00:00+00:00",
        "wallet_topup",
        [],
        [Payment(1, "cash", 1500, None, None)],
        total=1500,
    )
    cash = await conn.fetchval(
        "INSERT INTO ledger_accounts (kind, currency) VALUES ('cash', 'EUR') RETURNING id"
    )
    account = await conn.fetchval(
        "INSERT INTO ledger_accounts (kind, currency) VALUES ('wallet', 'EUR') RETURNING id"
    )
    wallet = await conn.fetchval(
        "INSERT INTO wallets (account_id, pass_id, currency)"
        " SELECT $1, id, 'EUR' FROM passes LIMIT 1 RETURNING id",
        account,
    )
    await conn.execute(
        "INSERT INTO ledger_transactions (idempotency_key, kind, from_account, to_account,"
        " amount_cents, currency, from_balance, to_balance, wallet_id, journal_id, taken_at)"
        " VALUES ('seed-topup', 'topup', $1, $2, 1500, 'EUR', -1500, 1500, $3, $4, now())",
        cash,
        account,
        wallet,
        topup,
    )
    now = datetime.now(UTC).isoformat()
    await write(conn, reg, now, "sale", [line(1, 300)], [Payment(1, "cash", 300, None, None)])
