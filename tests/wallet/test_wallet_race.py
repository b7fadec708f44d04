"""One wallet debited at ten bars at once: exactly the debits its balance covers are
admitted, the rest refused, the balance never below zero. The control switches the guard
off in the real code path (``wallet.balance_guard=off``: the balance is read, then
written): the same debits overdraw the wallet."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import pytest

from tests import support
from tests.cash.helpers import db, new_register, open_session
from tests.support import Api, ServerProcess
from tests.wallet.helpers import balance, debit, new_bar, pass_code, top_up

pytestmark = pytest.mark.slow

BARS = 10
DEBITS = 20  # two per bar
PRICE = 100
BALANCE = 1000  # covers ten of them


@pytest.fixture
async def unguarded() -> AsyncIterator[ServerProcess]:
    proc = ServerProcess(
        {"GUICHET_FAILPOINTS": "wallet.balance_guard=off,wallet.balance_read=sleep:20"}
    )
    try:
        await asyncio.to_thread(proc.wait_ready)
        yield proc
    finally:
        proc.stop()


async def race(url: str, admin: Api) -> tuple[str, Counter[str]]:
    _, code = await pass_code(admin)
    manager = Api(url, await support.staff_token(admin, "pos", "wallet_manager"))
    waiters = [Api(url, await support.staff_token(admin, "waiter")) for _ in range(BARS)]
    try:
        rs = await open_session(manager, await new_register(admin))
        assert (await top_up(manager, code, BALANCE, rs)).status_code == 201
        bars = [(await new_bar(admin))[1] for _ in range(BARS)]
        replies = await asyncio.gather(
            *(debit(waiters[n % BARS], code, bars[n % BARS], PRICE) for n in range(DEBITS))
        )
    finally:
        for api in (manager, *waiters):
            await api.close()
    outcome: Counter[str] = Counter()
    for r in replies:
        outcome["debited" if r.status_code == 201 else r.json()["error"]["code"]] += 1
    return code, outcome


async def lowest_balance_left(code: str, admin: Api) -> int:
    """The lowest balance any debit left the wallet with."""
    wallet = (await admin.http.post("/api/wallet", json={"code": code})).json()
    conn = await db()
    try:
        lowest: int = await conn.fetchval(
            "SELECT min(t.from_balance) FROM ledger_transactions t"
            " JOIN wallets w ON w.id = t.wallet_id AND t.from_account = w.account_id"
            " WHERE w.id = $1",
            wallet["id"],
        )
    finally:
        await conn.close()
    return lowest


async def test_ten_bars_at_once_take_exactly_what_the_balance_covers(
    server: ServerProcess, admin: Api
) -> None:
    code, outcome = await race(server.url, admin)
    assert outcome == {
        "debited": BALANCE // PRICE,
        "insufficient_balance": DEBITS - BALANCE // PRICE,
    }
    assert await balance(admin, code) == 0
    assert await lowest_balance_left(code, admin) == 0


async def test_control_without_the_guard_the_same_debits_overdraw(
    unguarded: ServerProcess, admin: Api
) -> None:
    code, outcome = await race(unguarded.url, admin)  # the debits go to the unguarded server
    assert outcome["debited"] > BALANCE // PRICE  # each read the balance and went ahead
    assert await balance(admin, code) < 0
