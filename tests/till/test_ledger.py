"""The wallet ledger's pure rules: routes, the reference model's invariants, and the
offline allowance's signature and limits."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from till.ledger import (
    AccountKind,
    Allowance,
    Ledger,
    LedgerError,
    TxKind,
    beyond_allowance,
    check_route,
    read_allowance,
    sign_allowance,
)

SECRET = b"s" * 32
ALLOWANCE = Allowance(7, "tablet-1", 3, "EUR", 2000, 3600, 1_000_000, 1_020_000)


def test_each_kind_moves_money_only_where_it_should() -> None:
    check_route(TxKind.DEBIT, AccountKind.WALLET, AccountKind.BAR)
    check_route(TxKind.TOPUP, AccountKind.CARD, AccountKind.WALLET)
    for kind, source, target in (
        (TxKind.DEBIT, AccountKind.CASH, AccountKind.BAR),
        (TxKind.TOPUP, AccountKind.WALLET, AccountKind.CASH),
        (TxKind.CORRECTION, AccountKind.WALLET, AccountKind.WALLET),
    ):
        with pytest.raises(LedgerError):
            check_route(kind, source, target)


operations = st.lists(
    st.tuples(st.sampled_from(["top_up", "debit", "offline", "reverse"]), st.integers(1, 500)),
    max_size=40,
)


@given(operations)
def test_the_model_balances_to_zero_and_guards_wallets(steps: list[tuple[str, int]]) -> None:
    ledger = Ledger()
    ledger.open("w", AccountKind.WALLET)
    ledger.open("cash", AccountKind.CASH)
    ledger.open("bar", AccountKind.BAR)
    keys: list[str] = []
    for i, (what, n) in enumerate(steps):
        key = str(i)
        before = ledger.balances["w"]
        if what == "top_up":
            assert ledger.move(key, TxKind.TOPUP, "cash", "w", n)
        elif what == "debit":
            admitted = ledger.move(key, TxKind.DEBIT, "w", "bar", n)
            assert admitted == (before >= n)
        elif what == "offline":
            assert ledger.move(key, TxKind.DEBIT, "w", "bar", n, guarded=False)
        elif keys:
            ledger.reverse(key, keys[n % len(keys)])
        keys.append(key)
        assert sum(ledger.balances.values()) == 0
        if what != "offline" and before >= 0:
            assert ledger.balances["w"] >= 0  # only an offline debit overdraws


def test_an_allowance_reads_back_and_a_forged_one_does_not() -> None:
    token = sign_allowance(SECRET, ALLOWANCE)
    assert read_allowance(SECRET, token) == ALLOWANCE
    payload, mac = token.split(".")
    for bad in (f"{payload}.{mac[:-2]}AA", f"{payload[:-2]}AA.{mac}", "nonsense", ""):
        with pytest.raises(LedgerError):
            read_allowance(SECRET, bad)
    with pytest.raises(LedgerError):
        read_allowance(b"other" * 8, token)


def test_offline_debits_beyond_the_allowance_are_flagged() -> None:
    at = ALLOWANCE.issued_at + 100
    assert not beyond_allowance(ALLOWANCE, [], at, 2000)
    assert beyond_allowance(ALLOWANCE, [], at, 2001)
    assert beyond_allowance(ALLOWANCE, [(at - 10, 1500)], at, 600)
    # an hour later the period starts again
    assert not beyond_allowance(ALLOWANCE, [(at, 1500)], at + 3600, 600)
    assert beyond_allowance(ALLOWANCE, [], ALLOWANCE.expires_at + 1, 1)
