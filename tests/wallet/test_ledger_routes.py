"""The server's ledger refuses a transfer its kind does not allow (``till.ledger.ROUTES``):
a programming error, raised before anything is written."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from server.wallet.ledger import Transfer, shared_account, transfer
from tests.cash.helpers import db
from tests.support import ServerProcess
from till.ledger import AccountKind, LedgerError, TxKind


async def test_a_transfer_on_a_route_its_kind_does_not_allow_raises_and_writes_nothing(
    server: ServerProcess,
) -> None:
    conn = await db()
    try:
        async with conn.transaction():
            cash = await shared_account(conn, AccountKind.CASH, "CHF")
            wallet = await conn.fetchval(
                "INSERT INTO ledger_accounts (kind, currency) VALUES ('wallet', 'CHF') RETURNING id"
            )
        key = f"route-{uuid.uuid4().hex}"
        balances = "SELECT id, balance_cents FROM ledger_accounts WHERE id = ANY($1::bigint[])"
        before = {r["id"]: r["balance_cents"] for r in await conn.fetch(balances, [cash, wallet])}

        def move(kind: TxKind, source: int, target: int) -> Transfer:
            return Transfer(key, kind, source, target, 500, "CHF", datetime.now(UTC))

        # a debit goes from a wallet to a bar, never from cash; a top-up never leaves a wallet
        for wrong in (move(TxKind.DEBIT, cash, wallet), move(TxKind.TOPUP, wallet, cash)):
            with pytest.raises(LedgerError) as refused:
                async with conn.transaction():
                    await transfer(conn, wrong)
            assert refused.value.code == "bad_route"
        with pytest.raises(LedgerError) as unknown:
            await transfer(conn, move(TxKind.TOPUP, cash, 2**62))
        assert unknown.value.code == "unknown_account"
        assert (
            await conn.fetchval(
                "SELECT count(*) FROM ledger_transactions WHERE idempotency_key = $1", key
            )
            == 0
        )
        after = {r["id"]: r["balance_cents"] for r in await conn.fetch(balances, [cash, wallet])}
        assert after == before and before[wallet] == 0

        # the same amounts on the allowed route go through
        async with conn.transaction():
            moved = await transfer(conn, move(TxKind.TOPUP, cash, wallet))
        assert moved.to_balance == 500
    finally:
        await conn.close()
