"""Wallets: top-ups at a register, debits at a bar, the holder's view, corrections.

Every movement is one database transaction: the journal entry of the register or bar that
made it (a ``wallet_topup`` in the cashier's register session, paid in cash or by card; a
``wallet_debit`` at the bar's register, paid by the wallet, with the articles' tax) and
the ledger transaction that moves the money (``server/wallet/ledger.py``), which refuses a
debit the balance does not cover. A retry with the same idempotency key returns the first
answer; the same key for something else is ``422 idempotency_key_mismatch``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanning.codes import TicketClaims, TicketScope
from server.articles.stock import StockNews, Taken, take
from server.cash.journal import Draft, LineDraft, PaymentDraft, append
from server.cash.registers import session_for
from server.door.keys import KeyStore
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, Mismatch, NotFound
from server.wallet.holders import (
    HOLDER_SQL,
    Holder,
    check_holder,
    claims_of,
    holder_id,
    holder_of,
)
from server.wallet.ledger import Insufficient, Moved, Transfer, shared_account, transfer
from till.ledger import AccountKind, TxKind
from till.money import Kind, Method

MAX_AMOUNT = 100_000_00
"""The largest single top-up or debit, in cents."""

TOPUP_LINE = "Porte-monnaie / Wallet"
FREE_AMOUNT_LINE = "Montant libre / Free amount"


@dataclass(frozen=True, slots=True)
class Debit:
    """A bar's debit: articles of the bar, or a free amount (with its tax rate)."""

    key: str
    code: str
    register_id: int
    articles: Mapping[int, int]
    amount_cents: int = 0
    tax_rate_bp: int = 0
    taken_at: datetime | None = None  # offline: when the bar served it
    device: str | None = None
    offline: bool = False
    reason: str | None = None


def wallet_json(row: asyncpg.Record | None, holder: Holder) -> dict[str, Any]:
    return {
        "id": row["id"] if row else None,
        "holder": {"kind": holder.kind, "id": holder.id, "name": holder.name},
        "status": row["status"] if row else "none",
        "currency": row["currency"] if row else None,
        "balance_cents": row["balance_cents"] if row else 0,
    }


_WALLET = (
    "SELECT w.id, w.account_id, w.status, w.currency, a.balance_cents FROM wallets w"
    " JOIN ledger_accounts a ON a.id = w.account_id WHERE w.{column} = $1"
)


class Wallets:
    def __init__(self, pool: asyncpg.Pool, keys: KeyStore, news: StockNews) -> None:
        self.pool = pool
        self.keys = keys
        self.news = news

    # -- reading ----------------------------------------------------------------------------

    async def look(self, code: object, history: int = 0) -> dict[str, Any]:
        """The wallet a code opens (balance 0 and status ``none`` before its first top-up)
        and its last ``history`` movements."""
        claims = await claims_of(self.keys, code)
        async with connection(self.pool) as conn:
            holder = await holder_of(conn, claims)
            row = await conn.fetchrow(_WALLET.format(column=holder.column), holder.id)
            out = wallet_json(row, holder)
            if history and row is not None:
                out["history"] = await movements(conn, row["id"], row["account_id"], history)
        return out

    # -- top-up ------------------------------------------------------------------------------

    async def top_up(
        self,
        key: str,
        code: object,
        amount: int,
        payment: PaymentDraft,
        register_session_id: int,
        user_id: int,
        actor: Actor,
    ) -> tuple[dict[str, Any], bool]:
        """Put ``amount`` on the wallet of ``code`` (made on its first top-up), paid at the
        caller's open register session."""
        _check_amount(amount)
        if payment.method not in (Method.CASH, Method.CARD) or payment.amount_cents != amount:
            raise Invalid("invalid_payment", "a top-up is paid in cash or by card, in full")
        claims = await claims_of(self.keys, code)
        async with connection(self.pool) as conn:
            if done := await _replay(conn, key, "topup", amount):
                return done, False
            try:
                async with conn.transaction():
                    answer = await self._top_up_in(
                        conn, key, claims, amount, payment, register_session_id, user_id, actor
                    )
            except asyncpg.UniqueViolationError:  # a concurrent retry committed first
                if done := await _replay(conn, key, "topup", amount):
                    return done, False
                raise
        return answer, True

    @staticmethod
    async def _top_up_in(
        conn: asyncpg.Connection,
        key: str,
        claims: TicketClaims,
        amount: int,
        payment: PaymentDraft,
        register_session_id: int,
        user_id: int,
        actor: Actor,
    ) -> dict[str, Any]:
        holder = await holder_of(conn, claims)
        if not holder.active:
            raise Conflict("holder_not_active", f"this {holder.kind} is not active")
        s = await session_for(conn, register_session_id, user_id, False, "SHARE")
        wallet = await _wallet_for(conn, holder, s["currency"])
        if wallet["status"] != "active":
            raise Conflict("wallet_blocked", f"this wallet is {wallet['status']}")
        line = LineDraft(f"{TOPUP_LINE} #{wallet['id']}", 1, amount, 0)
        draft = Draft(Kind.WALLET_TOPUP, s["currency"], (payment,), (line,))
        entry = await append(conn, s["register_id"], s["id"], user_id, draft)
        source = AccountKind.CASH if payment.method == Method.CASH else AccountKind.CARD
        moved = await transfer(
            conn,
            Transfer(
                key,
                TxKind.TOPUP,
                await shared_account(conn, source, s["currency"]),
                wallet["account_id"],
                amount,
                s["currency"],
                datetime.now(UTC),
                wallet_id=wallet["id"],
                journal_id=entry.journal_id,
                created_by=user_id,
            ),
        )
        await audit.record(
            conn,
            actor,
            "wallet.topup",
            f"wallet:{wallet['id']}",
            amount_cents=amount,
            method=payment.method,
            journal_id=entry.journal_id,
        )
        return _answer(
            moved,
            wallet["id"],
            holder,
            amount,
            entry.journal_id,
            entry.receipt_no,
            moved.to_balance,
        )

    # -- debit -------------------------------------------------------------------------------

    async def debit(self, d: Debit, user_id: int) -> tuple[dict[str, Any], bool]:
        """Debit a wallet at a bar: online, refused below zero; offline (``d.offline``),
        applied whatever the balance (it was served) and any overdraft recorded."""
        claims = await claims_of(self.keys, d.code)
        async with connection(self.pool) as conn:
            try:
                async with conn.transaction():
                    answer, taken = await _debit_in(conn, d, claims, user_id)
            except (asyncpg.UniqueViolationError, Insufficient):
                # a retry of a debit already made (its key is taken; or, online, the
                # balance it left no longer covers it): its first answer
                if done := await _replay(conn, d.key, "debit", None):
                    return done, False
                raise
        await self.news.publish([t.level for t in taken if t.level is not None])
        return answer, True

    # -- corrections -------------------------------------------------------------------------

    async def reverse(
        self, key: str, transaction_id: int, reason: str, user_id: int, actor: Actor
    ) -> tuple[dict[str, Any], bool]:
        """Reverse a transaction (at most once), as a new transaction that moves its amount
        back; a reversal that would take a wallet below zero is refused."""
        async with connection(self.pool) as conn:
            if done := await _replay(conn, key, "reversal", None):
                return done, False
            async with conn.transaction():
                of = await conn.fetchrow(
                    "SELECT * FROM ledger_transactions WHERE id = $1", transaction_id
                )
                if of is None:
                    raise NotFound.of("transaction")
                if of["kind"] == TxKind.REVERSAL:
                    raise Conflict("not_reversible", "a reversal is not reversed; correct it")
                try:
                    moved = await transfer(
                        conn,
                        Transfer(
                            key,
                            TxKind.REVERSAL,
                            of["to_account"],
                            of["from_account"],
                            of["amount_cents"],
                            of["currency"],
                            datetime.now(UTC),
                            reverses_id=of["id"],
                            wallet_id=of["wallet_id"],
                            point_of_sale_id=of["point_of_sale_id"],
                            created_by=user_id,
                            reason=reason,
                        ),
                    )
                except asyncpg.UniqueViolationError as exc:
                    if exc.constraint_name == "ledger_transactions_reverses_id_key":
                        raise Conflict("already_reversed", "this transaction was reversed") from exc
                    raise
                await audit.record(
                    conn,
                    actor,
                    "wallet.reverse",
                    f"wallet:{of['wallet_id']}",
                    transaction_id=transaction_id,
                    reason=reason,
                )
        return {
            "transaction_id": moved.transaction_id,
            "reverses_id": transaction_id,
            "amount_cents": of["amount_cents"],
            "created_at": moved.created_at.isoformat(),
        }, True

    async def set_status(self, wallet_id: int, status: str, actor: Actor) -> dict[str, Any]:
        if status not in ("active", "blocked"):
            raise Invalid("invalid_field", "'status' is active or blocked", field="status")
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow(
                "UPDATE wallets SET status = $2 WHERE id = $1 AND status <> 'closed'"
                " RETURNING id, status",
                wallet_id,
                status,
            )
            if row is None:
                raise NotFound.of("wallet")
            await audit.record(
                conn,
                actor,
                f"wallet.{'block' if status == 'blocked' else 'unblock'}",
                f"wallet:{wallet_id}",
            )
        return {"id": row["id"], "status": row["status"]}


_DEBIT_FACTS = """
WITH counter AS (
  UPDATE registers SET next_receipt = next_receipt + 1 WHERE id = $2
  RETURNING id, currency, point_of_sale_id, next_receipt - 1 AS receipt_no, head_hash
)
SELECT r.id, r.currency, r.point_of_sale_id, r.receipt_no, r.head_hash, p.kind AS point_kind,
  h.id AS holder_id, h.name, h.status AS holder_status, h.code_seed,
  w.id AS wallet_id, w.account_id, w.status AS wallet_status, w.currency AS wallet_currency,
  (SELECT a.id FROM ledger_accounts a WHERE a.kind = 'bar' AND a.currency = r.currency
     AND a.point_of_sale_id = r.point_of_sale_id) AS bar_account
FROM counter r
JOIN points_of_sale p ON p.id = r.point_of_sale_id
LEFT JOIN ({holder}) h ON true
LEFT JOIN wallets w ON w.{column} = h.id
"""
"""In one round trip: the bar's register with its next receipt number (``NEXT_RECEIPT``,
its row locked to the commit as ``append`` would), the code's holder and wallet, the
bar's account."""


async def _debit_facts(
    conn: asyncpg.Connection, d: Debit, claims: TicketClaims
) -> tuple[asyncpg.Record, Holder]:
    """The bar, the wallet and its holder, refused unless a debit may be made."""
    column = "pass_id" if claims.scope is TicketScope.PASS else "ticket_id"
    query = _DEBIT_FACTS.format(holder=HOLDER_SQL[claims.scope], column=column)
    bar = await conn.fetchrow(query, holder_id(claims), d.register_id)
    if bar is None:
        raise NotFound.of("register")
    if bar["point_kind"] != "bar":
        raise Conflict("not_a_bar", "wallets are debited at a bar's register")
    fields = (("id", "holder_id"), ("name", "name"), ("status", "holder_status"))
    holder = check_holder(claims, {**{k: bar[f] for k, f in fields}, "code_seed": bar["code_seed"]})
    if bar["wallet_id"] is None:
        raise Conflict("no_wallet", "nothing was ever put on this wallet")
    if bar["wallet_status"] != "active" and not d.offline:
        raise Conflict("wallet_blocked", f"this wallet is {bar['wallet_status']}")
    if bar["wallet_currency"] != bar["currency"]:
        raise Invalid("currency_mismatch", f"this bar takes {bar['currency']}")
    return bar, holder


async def _debit_in(
    conn: asyncpg.Connection, d: Debit, claims: TicketClaims, user_id: int
) -> tuple[dict[str, Any], list[Taken]]:
    """The debit's journal entry at the bar's register and its ledger transaction."""
    bar, holder = await _debit_facts(conn, d, claims)
    lines, taken = await _lines(conn, d, bar["point_of_sale_id"])
    total = sum(ln.quantity * ln.unit_gross_cents for ln in lines)
    _check_amount(total)
    pay = PaymentDraft(Method.WALLET.value, total)
    draft = Draft(Kind.WALLET_DEBIT, bar["currency"], (pay,), tuple(lines))
    entry = await append(conn, bar["id"], None, user_id, draft, counter=bar)
    target = bar["bar_account"] or await shared_account(
        conn, AccountKind.BAR, bar["currency"], bar["point_of_sale_id"]
    )
    moved = await transfer(
        conn,
        Transfer(
            d.key,
            TxKind.DEBIT,
            bar["account_id"],
            target,
            total,
            bar["currency"],
            d.taken_at or datetime.now(UTC),
            guarded=not d.offline,
            wallet_id=bar["wallet_id"],
            journal_id=entry.journal_id,
            point_of_sale_id=bar["point_of_sale_id"],
            device=d.device,
            offline=d.offline,
            created_by=user_id,
            reason=d.reason,
        ),
    )
    answer = _answer(
        moved,
        bar["wallet_id"],
        holder,
        total,
        entry.journal_id,
        entry.receipt_no,
        moved.from_balance,
    )
    return answer, taken


def _check_amount(amount: int) -> None:
    if not 1 <= amount <= MAX_AMOUNT:
        raise Invalid("invalid_amount", f"an amount is 1-{MAX_AMOUNT} cents")


async def _wallet_for(conn: asyncpg.Connection, holder: Holder, currency: str) -> asyncpg.Record:
    """The holder's wallet, opened (with its account) on the first top-up."""
    query = _WALLET.format(column=holder.column)
    row = await conn.fetchrow(query, holder.id)
    if row is None:
        account = await conn.fetchval(
            "INSERT INTO ledger_accounts (kind, currency) VALUES ('wallet', $1) RETURNING id",
            currency,
        )
        await conn.execute(
            f"INSERT INTO wallets (account_id, {holder.column}, currency) VALUES ($1, $2, $3)"
            " ON CONFLICT DO NOTHING",
            account,
            holder.id,
            currency,
        )
        row = await conn.fetchrow(query, holder.id)
    if row["currency"] != currency:
        raise Invalid("currency_mismatch", f"this wallet holds {row['currency']}")
    return row


async def _lines(
    conn: asyncpg.Connection, d: Debit, point_of_sale_id: int
) -> tuple[list[LineDraft], list[Taken]]:
    if d.articles:
        taken = await take(conn, d.articles, point_of_sale_id)
        lines = [
            LineDraft(t.name, t.quantity, t.price_cents, t.tax_rate_bp, article_id=t.article_id)
            for t in taken
        ]
        return lines, taken
    return [LineDraft(FREE_AMOUNT_LINE, 1, d.amount_cents, d.tax_rate_bp)], []


def _answer(
    moved: Moved,
    wallet_id: int,
    holder: Holder,
    amount: int,
    journal_id: int,
    receipt_no: int,
    balance: int,
) -> dict[str, Any]:
    return {
        "transaction_id": moved.transaction_id,
        "wallet_id": wallet_id,
        "holder": {"kind": holder.kind, "id": holder.id, "name": holder.name},
        "amount_cents": amount,
        "balance_cents": balance,
        "journal_id": journal_id,
        "receipt_no": receipt_no,
        "created_at": moved.created_at.isoformat(),
    }


async def _replay(
    conn: asyncpg.Connection, key: str, kind: str, amount: int | None
) -> dict[str, Any] | None:
    """The answer of the transaction already made under ``key``, if any."""
    row = await conn.fetchrow(
        "SELECT t.*, j.receipt_no, w.pass_id, w.ticket_id FROM ledger_transactions t"
        " LEFT JOIN journal j ON j.id = t.journal_id LEFT JOIN wallets w ON w.id = t.wallet_id"
        " WHERE t.idempotency_key = $1",
        key,
    )
    if row is None:
        return None
    if row["kind"] != kind or (amount is not None and row["amount_cents"] != amount):
        raise Mismatch(
            "idempotency_key_mismatch", "this idempotency key was used for something else"
        )
    holder = Holder(
        "pass" if row["pass_id"] else "ticket", row["pass_id"] or row["ticket_id"], None, True
    )
    moved = Moved(row["id"], row["from_balance"], row["to_balance"], row["created_at"])
    balance = row["to_balance"] if kind == "topup" else row["from_balance"]
    return _answer(
        moved,
        row["wallet_id"],
        holder,
        row["amount_cents"],
        row["journal_id"],
        row["receipt_no"],
        balance,
    )


async def movements(
    conn: asyncpg.Connection, wallet_id: int, account_id: int, limit: int
) -> list[dict[str, Any]]:
    """A wallet's last movements, newest first, signed as the wallet sees them."""
    rows = await conn.fetch(
        "SELECT t.id, t.kind, t.amount_cents, t.from_account, t.from_balance, t.to_balance,"
        " t.taken_at, t.offline, p.name AS point_of_sale FROM ledger_transactions t"
        " LEFT JOIN points_of_sale p ON p.id = t.point_of_sale_id"
        " WHERE t.wallet_id = $1 ORDER BY t.id DESC LIMIT $2",
        wallet_id,
        limit,
    )
    out = []
    for r in rows:
        outgoing = r["from_account"] == account_id
        out.append(
            {
                "id": r["id"],
                "kind": r["kind"],
                "amount_cents": -r["amount_cents"] if outgoing else r["amount_cents"],
                "balance_cents": r["from_balance"] if outgoing else r["to_balance"],
                "at": r["taken_at"].isoformat(),
                "offline": r["offline"],
                "point_of_sale": r["point_of_sale"],
            }
        )
    return out
