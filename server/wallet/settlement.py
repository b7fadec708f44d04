"""After the festival: what is left on the wallets goes back to their holders (to the card
that paid a top-up where there is one, else by bank transfer from a list), to a donation,
or, unclaimed after a deadline, to breakage. Each is a ledger transaction of the whole
balance, never an edit; a wallet settled is closed (docs/wallet.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, NotFound
from server.wallet.ledger import Transfer, shared_account, transfer
from till.ledger import AccountKind, TxKind

_SETTLE = {
    "card": (TxKind.PAYOUT, AccountKind.PAYOUT),
    "transfer": (TxKind.PAYOUT, AccountKind.PAYOUT),
    "donation": (TxKind.DONATION, AccountKind.DONATION),
    "breakage": (TxKind.BREAKAGE, AccountKind.BREAKAGE),
}

_LEFT = """
SELECT w.id, w.account_id, w.currency, w.status, a.balance_cents, w.pass_id, w.ticket_id,
  coalesce(p.holder_name, o.buyer_name) AS holder, o.buyer_email AS email,
  (SELECT coalesce(sum(t.amount_cents), 0)::bigint FROM ledger_transactions t
     JOIN ledger_accounts c ON c.id = t.from_account
     WHERE t.wallet_id = w.id AND t.kind = 'topup' AND c.kind = 'card') AS card_cents,
  (SELECT max(t.taken_at) FROM ledger_transactions t WHERE t.wallet_id = w.id) AS last_used
FROM wallets w
JOIN ledger_accounts a ON a.id = w.account_id
LEFT JOIN passes p ON p.id = w.pass_id
LEFT JOIN tickets tk ON tk.id = w.ticket_id
LEFT JOIN orders o ON o.id = tk.order_id
"""


def left_json(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "wallet_id": r["id"],
        "holder": r["holder"],
        "email": r["email"],
        "currency": r["currency"],
        "balance_cents": r["balance_cents"],
        "card_cents": r["card_cents"],
        "refund_to": "card" if r["card_cents"] >= r["balance_cents"] else "transfer",
        "last_used": r["last_used"].isoformat() if r["last_used"] else None,
    }


class Settlement:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def left(self, limit: int, offset: int) -> list[dict[str, Any]]:
        """Wallets with money left, largest first, with how each would be refunded: to
        the card when card top-ups cover the balance, else by transfer."""
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                _LEFT + " WHERE a.balance_cents > 0 AND w.status <> 'closed'"
                " ORDER BY a.balance_cents DESC, w.id LIMIT $1 OFFSET $2",
                limit,
                offset,
            )
        return [left_json(r) for r in rows]

    async def settle(
        self, wallet_id: int, how: str, key: str, user_id: int | None, actor: Actor
    ) -> dict[str, Any]:
        """Move a wallet's whole balance out (``card``, ``transfer``, ``donation`` or
        ``breakage``) and close it."""
        async with connection(self.pool) as conn, conn.transaction():
            row = await conn.fetchrow(_LEFT + " WHERE w.id = $1 FOR UPDATE OF w", wallet_id)
            if row is None:
                raise NotFound.of("wallet")
            return await _settle(conn, row, how, key, user_id, actor)

    async def breakage(
        self, unused_since: datetime, key: str, user_id: int, actor: Actor
    ) -> dict[str, Any]:
        """Book as breakage every balance left on a wallet unused since ``unused_since``."""
        settled = []
        async with connection(self.pool) as conn, conn.transaction():
            rows = await conn.fetch(
                _LEFT + " WHERE a.balance_cents > 0 AND w.status <> 'closed'"
                " AND NOT EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.wallet_id = w.id"
                "   AND t.taken_at >= $1) ORDER BY w.id FOR UPDATE OF w",
                unused_since,
            )
            for row in rows:
                settled.append(
                    await _settle(conn, row, "breakage", f"{key}:{row['id']}", user_id, actor)
                )
        total = sum(s["amount_cents"] for s in settled)
        return {"wallets": len(settled), "amount_cents": total, "settled": settled}


async def _settle(
    conn: asyncpg.Connection,
    row: asyncpg.Record,
    how: str,
    key: str,
    user_id: int | None,
    actor: Actor,
) -> dict[str, Any]:
    if row["status"] == "closed":
        raise Conflict("wallet_closed", "this wallet is already settled")
    amount = row["balance_cents"]
    if amount <= 0:
        raise Conflict("nothing_left", "this wallet holds nothing to settle")
    kind, target = _SETTLE[how]
    moved = await transfer(
        conn,
        Transfer(
            key,
            kind,
            row["account_id"],
            await shared_account(conn, target, row["currency"]),
            amount,
            row["currency"],
            datetime.now(UTC),
            wallet_id=row["id"],
            created_by=user_id,
            reason=how,
        ),
    )
    await conn.execute("UPDATE wallets SET status = 'closed' WHERE id = $1", row["id"])
    await audit.record(conn, actor, f"wallet.{how}", f"wallet:{row['id']}", amount_cents=amount)
    return {
        "wallet_id": row["id"],
        "how": how,
        "amount_cents": amount,
        "transaction_id": moved.transaction_id,
    }
