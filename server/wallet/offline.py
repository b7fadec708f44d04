"""Bars through short network drops: a signed allowance, then the upload of what was
served offline (docs/wallet.md).

Online, a bar device asks for an allowance (``till.ledger.Allowance``): at most so much per
wallet over a period, for a few hours, for this user, device and bar. Offline, the bar page
debits within it and queues each debit with its idempotency key. On reconnect it uploads
the queue with the allowance: each debit is applied whatever the balance (the drink was
served) and the ledger row keeps the balance it left, so an overdraft is reported to the
organiser (``GET /api/wallet-overdrafts``) instead of being lost. A debit the allowance
did not cover is applied too, marked ``beyond_allowance``. Uploading twice changes nothing.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.platform.db import connection
from server.platform.errors import DomainError, Forbidden, Invalid
from server.wallet.service import Debit, Wallets
from till.ledger import Allowance, LedgerError, beyond_allowance, read_allowance, sign_allowance

MAX_UPLOAD = 500


@dataclass(frozen=True, slots=True)
class AllowancePolicy:
    per_wallet_cents: int = 2_000
    period_s: int = 3_600
    valid_s: int = 6 * 3_600


def allowance_secret(token_secret: bytes) -> bytes:
    return hashlib.sha256(b"guichet wallet allowance\n" + token_secret).digest()


class OfflineBar:
    def __init__(
        self, pool: asyncpg.Pool, wallets: Wallets, secret: bytes, policy: AllowancePolicy
    ) -> None:
        self.pool = pool
        self.wallets = wallets
        self.secret = secret
        self.policy = policy

    async def allowance(self, user_id: int, device: str, register_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            bar = await conn.fetchrow(
                "SELECT r.point_of_sale_id, r.currency, p.kind FROM registers r"
                " JOIN points_of_sale p ON p.id = r.point_of_sale_id WHERE r.id = $1",
                register_id,
            )
        if bar is None or bar["kind"] != "bar":
            raise Invalid("not_a_bar", "allowances are for a bar's register")
        now = int(time.time())
        allowance = Allowance(
            user_id=user_id,
            device=device,
            point_of_sale_id=bar["point_of_sale_id"],
            currency=bar["currency"],
            per_wallet_cents=self.policy.per_wallet_cents,
            period_s=self.policy.period_s,
            issued_at=now,
            expires_at=now + self.policy.valid_s,
        )
        return {
            "token": sign_allowance(self.secret, allowance),
            "register_id": register_id,
            "per_wallet_cents": allowance.per_wallet_cents,
            "period_s": allowance.period_s,
            "expires_at": datetime.fromtimestamp(allowance.expires_at, UTC).isoformat(),
        }

    async def upload(
        self, user_id: int, token: str, register_id: int, debits: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        """Apply the queued debits in the order they were taken; one result each."""
        try:
            allowance = read_allowance(self.secret, token)
        except LedgerError as exc:
            raise Invalid(exc.code, str(exc)) from exc
        if allowance.user_id != user_id:
            raise Forbidden("not_your_allowance", "this allowance was given to someone else")
        if not 1 <= len(debits) <= MAX_UPLOAD:
            raise Invalid("invalid_field", f"'debits' is a list of 1-{MAX_UPLOAD}", field="debits")
        spent: dict[str, list[tuple[int, int]]] = {}
        results = []
        for item in sorted(debits, key=lambda d: d["taken_at"]):
            taken_at = int(item["taken_at"].timestamp())
            earlier = spent.setdefault(item["code"], [])
            beyond = beyond_allowance(allowance, earlier, taken_at, item["amount_cents"])
            debit = Debit(
                key=item["key"],
                code=item["code"],
                register_id=register_id,
                articles={},
                amount_cents=item["amount_cents"],
                tax_rate_bp=item["tax_rate_bp"],
                taken_at=item["taken_at"],
                device=allowance.device,
                offline=True,
                reason="beyond_allowance" if beyond else None,
            )
            try:
                answer, created = await self.wallets.debit(debit, user_id)
            except DomainError as exc:
                results.append({"key": item["key"], "status": "refused", "code": exc.code})
                continue
            earlier.append((taken_at, item["amount_cents"]))
            results.append(
                {
                    "key": item["key"],
                    "status": "applied" if created else "replayed",
                    "beyond_allowance": beyond,
                    "overdraft": answer["balance_cents"] < 0,
                    **answer,
                }
            )
        return results


async def overdrafts(pool: asyncpg.Pool, limit: int) -> list[dict[str, Any]]:
    """Offline debits that left a wallet below zero, newest first."""
    async with connection(pool) as conn:
        rows = await conn.fetch(
            "SELECT t.id, t.wallet_id, t.amount_cents, t.currency, t.from_balance, t.taken_at,"
            " t.device, t.reason, p.name AS point_of_sale, u.username FROM ledger_transactions t"
            " LEFT JOIN points_of_sale p ON p.id = t.point_of_sale_id"
            " LEFT JOIN users u ON u.id = t.created_by"
            " WHERE t.offline AND t.from_balance < 0 ORDER BY t.id DESC LIMIT $1",
            limit,
        )
    return [
        {
            "transaction_id": r["id"],
            "wallet_id": r["wallet_id"],
            "amount_cents": r["amount_cents"],
            "currency": r["currency"],
            "balance_cents": r["from_balance"],
            "taken_at": r["taken_at"].isoformat(),
            "device": r["device"],
            "beyond_allowance": r["reason"] == "beyond_allowance",
            "point_of_sale": r["point_of_sale"],
            "waiter": r["username"],
        }
        for r in rows
    ]
