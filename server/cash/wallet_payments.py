"""A desk sale paid (in part) from a wallet: what the cash desk asks of the wallet context,
which ``server/app.py`` wires in (the wallet context imports cash, not the reverse).

The wallet moves the money in the caller's transaction, the one that writes the journal
entry: the sale's entry and its ledger transaction commit together or not at all, and a
balance that does not cover the payment refuses the whole sale (409
``insufficient_balance``) and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg


@dataclass(frozen=True, slots=True)
class WalletMove:
    """A wallet payment of a journal entry: at ``register_id``, by ``user_id``."""

    amount_cents: int
    currency: str
    journal_id: int
    register_id: int
    user_id: int


class WalletPayer(Protocol):
    async def pay(self, conn: asyncpg.Connection, code: str, move: WalletMove) -> dict[str, Any]:
        """Debit the wallet of ``code`` for a desk sale (guarded: never below zero); the
        wallet's id, holder and balance left."""

    async def refund(
        self, conn: asyncpg.Connection, sale_journal_id: int, move: WalletMove
    ) -> dict[str, Any]:
        """Credit back the wallet that paid the sale ``sale_journal_id``, at most what it
        paid less what its refunds already gave back."""
