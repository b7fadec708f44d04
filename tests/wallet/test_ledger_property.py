"""Property: for any sequence of top-ups, online and offline bar debits and reversals,
the real ledger agrees with the reference model (``till.ledger.Ledger``): the same
movements are admitted or refused, every account's kept balance is the sum of its
transactions, all accounts add up to zero, and a wallet only goes below zero through an
offline debit (served before it could be refused)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import asyncpg
import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from server.wallet.ledger import drifted_accounts, sum_of_balances
from tests import support
from tests.support import STAFF_PASSWORD, ServerProcess
from till.ledger import AccountKind, Ledger, TxKind

top_up = st.tuples(st.just("top_up"), st.integers(1, 3000))
online = st.tuples(st.just("debit"), st.integers(1, 2000))
offline = st.tuples(st.just("offline"), st.integers(1, 2000))
reverse = st.tuples(st.just("reverse"), st.integers(0, 20))


def client(server: ServerProcess, admin: httpx.Client, *roles: str) -> httpx.Client:
    user = {"username": f"p-{uuid.uuid4().hex[:8]}", "password": STAFF_PASSWORD, "roles": roles}
    assert admin.post("/api/users", json=user).status_code == 201
    token = admin.post("/api/auth/login", json=user).json()["token"]
    return httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"})


@pytest.fixture(scope="module")
def admin_client(server: ServerProcess, admin_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def stage(server: ServerProcess, admin_client: httpx.Client) -> Iterator[dict[str, Any]]:
    """A desk with an open register session, a bar, their staff and an allowance."""
    admin = admin_client
    desk = admin.post("/api/points-of-sale", json={"name": f"D {uuid.uuid4().hex[:6]}"}).json()
    till = {"point_of_sale_id": desk["id"], "name": "Till"}
    register = admin.post("/api/registers", json=till).json()["id"]
    bar = {"name": f"B {uuid.uuid4().hex[:6]}", "kind": "bar"}
    bar_pos = admin.post("/api/points-of-sale", json=bar).json()["id"]
    bar_register = admin.post(
        "/api/registers", json={"point_of_sale_id": bar_pos, "name": "Bar"}
    ).json()["id"]
    manager = client(server, admin, "pos", "wallet_manager")
    waiter = client(server, admin, "waiter")
    rs = manager.post(f"/api/registers/{register}/sessions", json={"counted": {}}).json()["id"]
    allowance = waiter.post(
        f"/api/bars/{bar_register}/allowance", json={"device": "property-01"}
    ).json()["token"]
    try:
        yield {
            "manager": manager,
            "waiter": waiter,
            "rs": rs,
            "bar": bar_register,
            "allowance": allowance,
        }
    finally:
        manager.close()
        waiter.close()


def new_code(admin: httpx.Client) -> str:
    now = datetime.now(UTC).isoformat()
    body = {
        "holder_name": "Property",
        "valid_from": now,
        "valid_until": "2099-01-01T00:00:00+00:00",
        "all_sessions": True,
    }
    pass_id = admin.post("/api/passes", json=body).json()["id"]
    return admin.get(f"/api/passes/{pass_id}/code").text


def check_books() -> None:
    """Every kept balance is its ledger's sum; all accounts add up to zero."""
    import asyncio

    async def read() -> tuple[int, list[int]]:
        conn = await asyncpg.connect(support.testing_database_url())
        try:
            return await drifted_accounts(conn), list((await sum_of_balances(conn)).values())
        finally:
            await conn.close()

    drift, sums = asyncio.run(read())
    assert drift == 0
    assert set(sums) <= {0}


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(top_up, online, offline, reverse), min_size=1, max_size=10))
def test_the_ledger_follows_its_model_and_balances_to_zero(
    admin_client: httpx.Client, stage: dict[str, Any], steps: list[tuple[str, int]]
) -> None:
    code = new_code(admin_client)
    model = Ledger()
    for name, kind in (("wallet", AccountKind.WALLET), ("cash", AccountKind.CASH)):
        model.open(name, kind)
    model.open("bar", AccountKind.BAR)
    done: list[tuple[str, int]] = []  # (model key, transaction id)
    lowest_online = 0
    for what, n in steps:
        key = uuid.uuid4().hex
        if what == "top_up":
            r = stage["manager"].post(
                "/api/wallets/top-ups",
                json={
                    "idempotency_key": key,
                    "code": code,
                    "amount_cents": n,
                    "method": "cash",
                    "register_session_id": stage["rs"],
                },
            )
            assert model.move(key, TxKind.TOPUP, "cash", "wallet", n)
            assert r.status_code == 201, r.text
        elif what == "debit":
            r = stage["waiter"].post(
                "/api/wallets/debits",
                json={
                    "idempotency_key": key,
                    "code": code,
                    "register_id": stage["bar"],
                    "amount_cents": n,
                },
            )
            admitted = model.move(key, TxKind.DEBIT, "wallet", "bar", n)
            if model.balances["wallet"] == 0 and not done and not admitted:
                assert r.json()["error"]["code"] == "no_wallet"  # never topped up
                continue
            assert r.status_code == (201 if admitted else 409), r.text
            if admitted:
                lowest_online = min(lowest_online, r.json()["balance_cents"])
        elif what == "offline":
            queued = {
                "idempotency_key": key,
                "code": code,
                "amount_cents": n,
                "taken_at": datetime.now(UTC).isoformat(),
            }
            r = stage["waiter"].post(
                f"/api/bars/{stage['bar']}/offline-debits",
                json={"allowance": stage["allowance"], "debits": [queued]},
            )
            result = r.json()["results"][0]
            if not done:
                assert result["code"] == "no_wallet"
                continue
            assert result["status"] == "applied", result
            model.move(key, TxKind.DEBIT, "wallet", "bar", n, guarded=False)
        else:
            if not done:
                continue
            of_key, of_id = done[n % len(done)]
            r = admin_client.post(
                f"/api/wallet-transactions/{of_id}/reversal",
                json={"idempotency_key": key, "reason": "property"},
            )
            admitted = model.reverse(key, of_key)
            assert r.status_code == (201 if admitted else 409), r.text
        if r.status_code == 201:
            done.append((key, r.json()["transaction_id"]))
        elif what == "offline":
            done.append((key, r.json()["results"][0]["transaction_id"]))
        wallet = stage["waiter"].post("/api/wallet", json={"code": code}).json()
        assert wallet["balance_cents"] == model.balances["wallet"]
    assert lowest_online >= 0  # an online debit never overdraws
    check_books()
