"""A desk sale paid from a wallet, and the refund of one (``server/cash/wallet_payments.py``
says what the cash desk asks; ``server/app.py`` hands it this).

Both run in the transaction of the journal entry they pay: a ``sale`` transaction moves
the amount from the wallet to the ``desk`` account of the register's point of sale,
guarded (never below zero: ``409 insufficient_balance`` rolls the whole sale back); a
``refund`` transaction moves it back, at most what the wallet paid for that sale less
what earlier refunds of it gave back.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.cash.wallet_payments import WalletMove
from server.door.keys import KeyStore
from server.platform.errors import Conflict, Invalid
from server.wallet.holders import Holder, claims_of, holder_of
from server.wallet.ledger import Moved, Transfer, shared_account, transfer
from till.ledger import AccountKind, TxKind

_WALLET = "SELECT w.id, w.account_id, w.status, w.currency FROM wallets w WHERE w.{column} = $1"

_PAID = """
SELECT t.wallet_id, t.from_account AS wallet_account, t.to_account AS desk_account,
    t.amount_cents, t.point_of_sale_id, w.status, w.pass_id, w.ticket_id,
    coalesce((SELECT sum(r.amount_cents) FROM ledger_transactions r
        JOIN journal j ON j.id = r.journal_id
        WHERE r.kind = 'refund' AND r.wallet_id = t.wallet_id AND j.reverses_id = $1), 0)::bigint
        AS refunded_cents
FROM ledger_transactions t JOIN wallets w ON w.id = t.wallet_id
WHERE t.journal_id = $1 AND t.kind = 'sale'
"""
"""The wallet payment of the sale entry ``$1`` and what its refunds already gave back."""


class DeskWallets:
    """``server.cash.wallet_payments.WalletPayer``: wallets as a means of payment at the desk."""

    def __init__(self, keys: KeyStore) -> None:
        self.keys = keys

    async def pay(self, conn: asyncpg.Connection, code: str, move: WalletMove) -> dict[str, Any]:
        claims = await claims_of(self.keys, code)
        holder = await holder_of(conn, claims)
        wallet = await conn.fetchrow(_WALLET.format(column=holder.column), holder.id)
        if wallet is None:
            raise Conflict("no_wallet", "nothing was ever put on this wallet")
        if wallet["status"] != "active":
            raise Conflict("wallet_blocked", f"this wallet is {wallet['status']}")
        if wallet["currency"] != move.currency:
            raise Invalid("currency_mismatch", f"this wallet holds {wallet['currency']}")
        point = await _point_of_sale(conn, move.register_id)
        moved = await transfer(
            conn,
            Transfer(
                f"desk-sale:{move.journal_id}",
                TxKind.SALE,
                wallet["account_id"],
                await shared_account(conn, AccountKind.DESK, move.currency, point),
                move.amount_cents,
                move.currency,
                datetime.now(UTC),
                wallet_id=wallet["id"],
                journal_id=move.journal_id,
                point_of_sale_id=point,
                created_by=move.user_id,
            ),
        )
        return _paid(moved, wallet["id"], holder, move.amount_cents, moved.from_balance)

    async def refund(
        self, conn: asyncpg.Connection, sale_journal_id: int, move: WalletMove
    ) -> dict[str, Any]:
        paid = await conn.fetchrow(_PAID, sale_journal_id)
        if paid is None:
            raise Conflict("not_paid_by_wallet", "this sale was not paid from a wallet")
        left = paid["amount_cents"] - paid["refunded_cents"]
        if move.amount_cents > left:
            raise Conflict(
                "wallet_refund_exceeds",
                "the wallet paid less than this refund: pay the rest back in cash or by card",
                wallet_left_cents=left,
            )
        if paid["status"] == "closed":
            raise Conflict("wallet_closed", "this wallet is settled and closed")
        moved = await transfer(
            conn,
            Transfer(
                f"desk-refund:{move.journal_id}",
                TxKind.REFUND,
                paid["desk_account"],
                paid["wallet_account"],
                move.amount_cents,
                move.currency,
                datetime.now(UTC),
                wallet_id=paid["wallet_id"],
                journal_id=move.journal_id,
                point_of_sale_id=paid["point_of_sale_id"],
                created_by=move.user_id,
            ),
        )
        kind = "pass" if paid["pass_id"] else "ticket"
        holder = Holder(kind, paid["pass_id"] or paid["ticket_id"], None, True)
        return _paid(moved, paid["wallet_id"], holder, move.amount_cents, moved.to_balance)


async def _point_of_sale(conn: asyncpg.Connection, register_id: int) -> int:
    point: int = await conn.fetchval(
        "SELECT point_of_sale_id FROM registers WHERE id = $1", register_id
    )
    return point


def _paid(
    moved: Moved, wallet_id: int, holder: Holder, amount: int, balance: int
) -> dict[str, Any]:
    return {
        "transaction_id": moved.transaction_id,
        "wallet_id": wallet_id,
        "holder": {"kind": holder.kind, "id": holder.id, "name": holder.name},
        "amount_cents": amount,
        "balance_cents": balance,
    }
