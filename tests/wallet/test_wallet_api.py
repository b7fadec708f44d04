"""The wallet over HTTP: a top-up journalled at the desk, debits at a bar refused below
zero, the holder's view, retries, offline uploads (twice), overdrafts and corrections."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from server.wallet.ledger import drifted_accounts, sum_of_balances
from tests.cash.helpers import cashier, db, new_register, open_session, verify
from tests.support import Api, ServerProcess
from tests.wallet.conftest import WalletDesk
from tests.wallet.helpers import balance, debit, pass_code, top_up


async def ledger_sum() -> dict[str, int]:
    """Per currency, the sum of all accounts (checking first that every kept balance is
    its ledger's sum)."""
    conn = await db()
    try:
        assert await drifted_accounts(conn) == 0
        return await sum_of_balances(conn)
    finally:
        await conn.close()


async def test_top_up_at_the_desk_then_debits_at_a_bar(
    server: ServerProcess, admin: Api, wallet_desk: WalletDesk
) -> None:
    d = wallet_desk
    code, register, bar, rs = d.code, d.register, d.bar, d.rs
    manager, waiter = d.manager, d.waiter
    r = await top_up(manager, code, 2000, rs, given_cents=5000)
    assert r.status_code == 201, r.text
    assert r.json()["balance_cents"] == 2000
    report = (await admin.http.get(f"/api/register-sessions/{rs}/report")).json()["report"]
    assert report["expected_cash_cents"] == 5500 + 2000  # the float and the top-up
    entries = (await manager.http.get(f"/api/register-sessions/{rs}/journal")).json()
    topup = entries["entries"][0]
    assert topup["kind"] == "wallet_topup" and topup["total_cents"] == 2000
    assert topup["payments"][0]["change_cents"] == 3000

    first = await debit(waiter, code, bar, 450, tax_rate_bp=2000)
    assert first.status_code == 201, first.text
    assert first.json()["balance_cents"] == 1550
    assert first.json()["receipt_no"] == 1  # the bar's own journal
    refused = await debit(waiter, code, bar, 1600)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "insufficient_balance"
    assert refused.json()["error"]["balance_cents"] == 1550
    assert await balance(waiter, code) == 1550  # a refusal changes nothing
    assert (await debit(waiter, code, bar, 1550)).json()["balance_cents"] == 0

    holder = Api(server.url)  # the holder, signed in to nothing: the code is the key
    try:
        view = (await holder.http.post("/api/wallet", json={"code": code})).json()
    finally:
        await holder.close()
    assert [m["amount_cents"] for m in view["history"]] == [-1550, -450, 2000]
    assert view["holder"]["name"] == "Camille Martin"
    assert await verify(register) is None and await verify(bar) is None
    assert set((await ledger_sum()).values()) == {0}


async def test_refusals_say_why_and_change_nothing(
    server: ServerProcess, admin: Api, wallet_desk: WalletDesk
) -> None:
    _, unknown_code = await pass_code(admin)
    d = wallet_desk
    code, register, bar, rs = d.code, d.register, d.bar, d.rs
    manager, waiter = d.manager, d.waiter
    plain = await cashier(admin, server, "pos")
    try:
        assert (await top_up(manager, code, 1000, rs)).status_code == 201
        cases = [
            (await debit(waiter, "GQ-not-a-code", bar, 100), 400, "invalid_code"),
            (await debit(waiter, unknown_code, bar, 100), 409, "no_wallet"),
            (await debit(waiter, code, register, 100), 409, "not_a_bar"),
            (await debit(waiter, code, bar), 400, "amount_or_articles"),
            (await debit(waiter, code, bar, 0), 400, "invalid_field"),
            (await top_up(plain, code, 1000, rs), 403, "forbidden"),
            (await top_up(manager, code, 1000, rs, method="cheque"), 400, "invalid_field"),
        ]
        for reply, status, error in cases:
            assert (reply.status_code, reply.json()["error"]["code"]) == (status, error)
        wallet_id = (await manager.http.post("/api/wallet", json={"code": code})).json()["id"]
        blocked = await admin.http.patch(f"/api/wallets/{wallet_id}", json={"status": "blocked"})
        assert blocked.status_code == 200, blocked.text
        refused = await debit(waiter, code, bar, 100)
        assert refused.json()["error"]["code"] == "wallet_blocked"
        assert await balance(waiter, code) == 1000
        bar_journal = await db()
        try:
            assert (
                await bar_journal.fetchval(
                    "SELECT count(*) FROM journal WHERE register_id = $1", bar
                )
                == 0
            )  # every refused debit gave its receipt number back
        finally:
            await bar_journal.close()
    finally:
        await plain.close()


@pytest.mark.parametrize("wallet_desk", ["wallet_cashier"], indirect=True)
async def test_a_retried_debit_is_made_once(
    server: ServerProcess, admin: Api, wallet_desk: WalletDesk
) -> None:
    d = wallet_desk
    code, bar, rs = d.code, d.bar, d.rs
    manager, waiter = d.manager, d.waiter
    key = uuid.uuid4().hex
    first = await top_up(manager, code, 1000, rs, key=key)
    again = await top_up(manager, code, 1000, rs, key=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json()["transaction_id"] == first.json()["transaction_id"]
    other = await top_up(manager, code, 999, rs, key=key)
    assert other.json()["error"]["code"] == "idempotency_key_mismatch"
    dkey = uuid.uuid4().hex
    one = await debit(waiter, code, bar, 300, key=dkey)
    two = await debit(waiter, code, bar, 300, key=dkey)
    assert (one.status_code, two.status_code) == (201, 200)
    assert await balance(waiter, code) == 700


async def test_offline_debits_uploaded_twice_and_an_overdraft_reported(
    server: ServerProcess, admin: Api, wallet_desk: WalletDesk
) -> None:
    d = wallet_desk
    code, bar, rs = d.code, d.bar, d.rs
    manager, waiter = d.manager, d.waiter
    assert (await top_up(manager, code, 500, rs)).status_code == 201
    got = await waiter.http.post(f"/api/bars/{bar}/allowance", json={"device": "tablet-0001"})
    assert got.status_code == 200, got.text
    allowance = got.json()
    assert allowance["per_wallet_cents"] > 0
    at = datetime.now(UTC) - timedelta(minutes=5)
    queue = [
        {
            "idempotency_key": uuid.uuid4().hex,
            "code": code,
            "amount_cents": 400,
            "taken_at": at.isoformat(),
        },
        {
            "idempotency_key": uuid.uuid4().hex,
            "code": code,
            "amount_cents": 300,
            "taken_at": (at + timedelta(minutes=1)).isoformat(),
        },
    ]
    body = {"allowance": allowance["token"], "debits": queue}
    first = await waiter.http.post(f"/api/bars/{bar}/offline-debits", json=body)
    assert first.status_code == 200, first.text
    results = first.json()["results"]
    assert [r["status"] for r in results] == ["applied", "applied"]
    assert [r["overdraft"] for r in results] == [False, True]
    again = await waiter.http.post(f"/api/bars/{bar}/offline-debits", json=body)
    assert [r["status"] for r in again.json()["results"]] == ["replayed", "replayed"]
    assert await balance(waiter, code) == -200  # served, not lost; reported below
    report = (await admin.http.get("/api/wallet-overdrafts")).json()["overdrafts"]
    mine = [o for o in report if o["transaction_id"] == results[1]["transaction_id"]]
    assert mine and mine[0]["balance_cents"] == -200
    # online, an overdrawn wallet pays nothing more
    assert (await debit(waiter, code, bar, 1)).json()["error"]["code"] == "insufficient_balance"

    forged = {**body, "allowance": allowance["token"][:-4] + "AAAA"}
    bad = await waiter.http.post(f"/api/bars/{bar}/offline-debits", json=forged)
    assert bad.json()["error"]["code"] == "invalid_allowance"
    assert set((await ledger_sum()).values()) == {0}


async def test_a_correction_reverses_once(
    server: ServerProcess, admin: Api, wallet_desk: WalletDesk
) -> None:
    d = wallet_desk
    code, bar, rs = d.code, d.bar, d.rs
    manager, waiter = d.manager, d.waiter
    assert (await top_up(manager, code, 1000, rs)).status_code == 201
    wrong = (await debit(waiter, code, bar, 800)).json()
    body = {"idempotency_key": uuid.uuid4().hex, "reason": "two beers, not eight"}
    url = f"/api/wallet-transactions/{wrong['transaction_id']}/reversal"
    assert (await waiter.http.post(url, json=body)).status_code == 403
    done = await admin.http.post(url, json=body)
    assert done.status_code == 201, done.text
    assert await balance(waiter, code) == 1000
    twice = await admin.http.post(url, json={**body, "idempotency_key": uuid.uuid4().hex})
    assert twice.json()["error"]["code"] == "already_reversed"
    assert await balance(waiter, code) == 1000


async def test_after_the_festival_refunds_donations_and_breakage(
    server: ServerProcess, admin: Api
) -> None:
    codes = [(await pass_code(admin, f"Holder {n}"))[1] for n in range(4)]
    register = await new_register(admin)
    manager = await cashier(admin, server, "pos", "wallet_manager")
    holder = Api(server.url)
    try:
        rs = await open_session(manager, register)
        for code, method in zip(codes, ("card", "cash", "cash", "cash"), strict=True):
            assert (await top_up(manager, code, 700, rs, method=method)).status_code == 201
        ids = [
            (await manager.http.post("/api/wallet", json={"code": c})).json()["id"] for c in codes
        ]
        left = (await admin.http.get("/api/wallet-settlement", params={"limit": 500})).json()
        mine = {w["wallet_id"]: w["refund_to"] for w in left["wallets"] if w["wallet_id"] in ids}
        assert mine == {ids[0]: "card", ids[1]: "transfer", ids[2]: "transfer", ids[3]: "transfer"}

        key = uuid.uuid4().hex
        paid = await admin.http.post(
            f"/api/wallets/{ids[0]}/settlement", json={"idempotency_key": key, "how": "card"}
        )
        assert paid.status_code == 201, paid.text
        assert paid.json()["amount_cents"] == 700
        gift = await holder.http.post(
            "/api/wallet/donation", json={"idempotency_key": uuid.uuid4().hex, "code": codes[1]}
        )
        assert gift.status_code == 201, gift.text
        again = await holder.http.post(
            "/api/wallet/donation", json={"idempotency_key": uuid.uuid4().hex, "code": codes[1]}
        )
        assert again.json()["error"]["code"] == "wallet_closed"
        # wallets 3 and 4 unused since a deadline set after their top-up: breakage
        deadline = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        booked = await admin.http.post(
            "/api/wallet-breakage",
            json={"idempotency_key": uuid.uuid4().hex, "unused_since": deadline},
        )
        assert booked.status_code == 200, booked.text
        broken = {s["wallet_id"] for s in booked.json()["settled"]}
        assert {ids[2], ids[3]} <= broken and not {ids[0], ids[1]} & broken
        for code in codes:
            assert await balance(manager, code) == 0
        assert (await top_up(manager, codes[2], 100, rs)).json()["error"][
            "code"
        ] == "wallet_blocked"
        assert set((await ledger_sum()).values()) == {0}
    finally:
        await manager.close()
        await holder.close()
