"""The ledger in Postgres: accounts and transactions (``till/ledger.py`` has the rules).

``transfer`` runs in the caller's transaction as one statement: it locks both accounts in
id order (two transfers between the same accounts never deadlock), takes the amount from
the source unless that would take a guarded wallet below zero, gives it to the target, and
inserts the transaction with the balances it left. The guard is in that ``UPDATE``'s
``WHERE``, under the row lock, so concurrent debits of one wallet queue and each sees the
balance the previous one left: exactly the debits the balance covers are admitted.

``transfer`` checks the route (``till.ledger.check_route``: which kinds of account each
kind of transaction moves money between) from the kinds its statement locked, and raises
on a wrong one in the caller's transaction: nothing of it is committed.

The failpoint ``wallet.balance_guard=off`` (a race test's control) reads the balance in a
statement of its own and decides in Python, as a naive implementation would.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import asyncpg

from server.platform.errors import Conflict
from server.platform.failpoints import failpoint, switched_off
from till.ledger import AccountKind, LedgerError, TxKind, check_route

GUARD = "wallet.balance_guard"

_TRANSFER = """
WITH locked AS (
    SELECT id FROM ledger_accounts WHERE id IN ($2, $3) ORDER BY id FOR UPDATE
), source AS (
    UPDATE ledger_accounts SET balance_cents = balance_cents - $4
    WHERE id = $2 AND (SELECT count(*) FROM locked) = 2
      AND (NOT $5 OR kind <> 'wallet' OR balance_cents >= $4)
    RETURNING balance_cents, kind
), target AS (
    UPDATE ledger_accounts SET balance_cents = balance_cents + $4
    WHERE id = $3 AND EXISTS (SELECT 1 FROM source)
    RETURNING balance_cents, kind
), moved AS (
    INSERT INTO ledger_transactions (idempotency_key, kind, from_account, to_account,
        amount_cents, currency, from_balance, to_balance, reverses_id, wallet_id, journal_id,
        point_of_sale_id, device, offline, taken_at, created_by, reason)
    SELECT $1, $6, $2, $3, $4, $7, source.balance_cents, target.balance_cents, $8, $9, $10,
        $11, $12, $13, $14, $15, $16
    FROM source, target
    RETURNING id, from_balance, to_balance, created_at
)
SELECT moved.*, source.kind AS from_kind, target.kind AS to_kind FROM moved, source, target
"""


@dataclass(frozen=True, slots=True)
class Transfer:
    """A transaction to write (``till.ledger.ROUTES`` says what may move where)."""

    key: str
    kind: TxKind
    source: int
    target: int
    amount_cents: int
    currency: str
    taken_at: datetime
    guarded: bool = True
    reverses_id: int | None = None
    wallet_id: int | None = None
    journal_id: int | None = None
    point_of_sale_id: int | None = None
    device: str | None = None
    offline: bool = False
    created_by: int | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class Moved:
    transaction_id: int
    from_balance: int
    to_balance: int
    created_at: datetime


class Insufficient(Conflict):
    def __init__(self, balance: int) -> None:
        super().__init__(
            "insufficient_balance",
            "the wallet's balance does not cover this",
            balance_cents=balance,
        )


async def transfer(conn: asyncpg.Connection, t: Transfer) -> Moved:
    """Write ``t`` (in the caller's transaction); ``Insufficient`` when a guarded wallet
    does not cover it. A transfer between accounts its kind does not move money between
    (``till.ledger.ROUTES``) is a programming error: ``LedgerError`` (``bad_route``),
    raised in the caller's transaction, which it rolls back."""
    guarded = t.guarded
    if guarded and switched_off(GUARD):  # the control: check outside the statement
        balance = await conn.fetchval(
            "SELECT balance_cents FROM ledger_accounts WHERE id = $1", t.source
        )
        await failpoint("wallet.balance_read")  # the control widens the race it shows
        if balance < t.amount_cents and await _is_wallet(conn, t.source):
            raise Insufficient(balance)
        guarded = False
    row = await conn.fetchrow(
        _TRANSFER,
        t.key,
        t.source,
        t.target,
        t.amount_cents,
        guarded,
        t.kind.value,
        t.currency,
        t.reverses_id,
        t.wallet_id,
        t.journal_id,
        t.point_of_sale_id,
        t.device,
        t.offline,
        t.taken_at,
        t.created_by,
        t.reason,
    )
    if row is None:
        raise await _refusal(conn, t)
    # the route, from the kinds the statement locked: raised in the caller's transaction,
    # so nothing of a wrong transfer is committed (and no round trip of its own)
    check_route(t.kind, AccountKind(row["from_kind"]), AccountKind(row["to_kind"]))
    return Moved(row["id"], row["from_balance"], row["to_balance"], row["created_at"])


async def _refusal(conn: asyncpg.Connection, t: Transfer) -> Exception:
    """Why nothing moved: an account that does not exist (a programming error), a route
    its kind does not allow, else the guard (``Insufficient``, with the balance)."""
    rows = await conn.fetch(
        "SELECT id, kind, balance_cents FROM ledger_accounts WHERE id = ANY($1::bigint[])",
        [t.source, t.target],
    )
    found = {r["id"]: r for r in rows}
    if t.source not in found or t.target not in found:
        return LedgerError("unknown_account", "a transfer between accounts that do not exist")
    check_route(t.kind, AccountKind(found[t.source]["kind"]), AccountKind(found[t.target]["kind"]))
    return Insufficient(found[t.source]["balance_cents"])


async def _is_wallet(conn: asyncpg.Connection, account_id: int) -> bool:
    kind = await conn.fetchval("SELECT kind FROM ledger_accounts WHERE id = $1", account_id)
    return bool(kind == AccountKind.WALLET)


async def shared_account(
    conn: asyncpg.Connection, kind: AccountKind, currency: str, point_of_sale_id: int | None = None
) -> int:
    """The account of ``kind`` for ``currency`` (and a bar's point of sale), made on first
    use."""
    found: int | None = await conn.fetchval(
        "SELECT id FROM ledger_accounts WHERE kind = $1 AND currency = $2"
        " AND coalesce(point_of_sale_id, 0) = coalesce($3::bigint, 0)",
        kind.value,
        currency,
        point_of_sale_id,
    )
    if found is not None:
        return found
    await conn.execute(
        "INSERT INTO ledger_accounts (kind, currency, point_of_sale_id) VALUES ($1, $2, $3)"
        " ON CONFLICT DO NOTHING",
        kind.value,
        currency,
        point_of_sale_id,
    )
    return await shared_account(conn, kind, currency, point_of_sale_id)


async def drifted_accounts(conn: asyncpg.Connection) -> int:
    """How many accounts keep a balance other than their transactions' sum: none, always."""
    count: int = await conn.fetchval(
        "SELECT count(*) FROM ledger_accounts a WHERE a.balance_cents <>"
        " coalesce((SELECT sum(amount_cents) FROM ledger_transactions WHERE to_account = a.id), 0)"
        " - coalesce((SELECT sum(amount_cents) FROM ledger_transactions"
        "   WHERE from_account = a.id), 0)"
    )
    return count


async def sum_of_balances(conn: asyncpg.Connection) -> dict[str, int]:
    """Per currency, the sum of every account's balance: zero, always."""
    rows = await conn.fetch(
        "SELECT currency, sum(balance_cents)::bigint AS total FROM ledger_accounts"
        " GROUP BY currency"
    )
    return {r["currency"]: r["total"] for r in rows}
