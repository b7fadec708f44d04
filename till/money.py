"""Money arithmetic of the cash desk, in integer cents: tax from a gross price, counted
cash, and what a register session should hold.

Rounding rule: prices are gross (tax included). The tax of a gross amount ``g`` at a rate
of ``r`` basis points is ``g * r / (10000 + r)`` rounded to the nearest cent, halves away
from zero; the net is ``g - tax``, so ``net + tax == gross`` always. The rule is odd in
``g`` (the tax of ``-g`` is minus the tax of ``g``), so a refund line reverses its sale to
the cent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

BP = 10_000
"""Basis points in one: a rate of 550 bp is 5.5 %."""

DENOMINATIONS: tuple[int, ...] = (
    50_000,
    20_000,
    10_000,
    5_000,
    2_000,
    1_000,
    500,
    200,
    100,
    50,
    20,
    10,
    5,
    2,
    1,
)
"""The euro's notes and coins, in cents."""


class Kind(StrEnum):
    """What a journal entry records."""

    SALE = "sale"
    REFUND = "refund"
    FLOAT = "float"
    CREDIT = "credit"
    DEBIT = "debit"
    CREDIT_ERROR = "credit_error"
    DEBIT_ERROR = "debit_error"
    CLOSING_DIFFERENCE = "closing_difference"
    WALLET_TOPUP = "wallet_topup"
    """Money put on a wallet, paid in cash or by card (untaxed: tax is due on what the
    wallet buys)."""
    WALLET_DEBIT = "wallet_debit"
    """A bar's sale paid by a wallet, journalled at the bar's register."""


OPERATION_SIGN: Mapping[Kind, int] = {
    Kind.CREDIT: 1,  # cash put into the drawer
    Kind.DEBIT: -1,  # cash taken out
    Kind.CREDIT_ERROR: -1,  # undoes a credit recorded in error
    Kind.DEBIT_ERROR: 1,  # undoes a debit recorded in error
}
"""How a cash operation of a positive amount moves the drawer."""


class Method(StrEnum):
    CASH = "cash"
    CARD = "card"
    WALLET = "wallet"


def _div_half_away(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to the nearest integer, halves away from zero
    (``denominator`` > 0)."""
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return q if numerator >= 0 else -q


@dataclass(frozen=True, slots=True)
class Split:
    """A gross amount split into net and tax (``net + tax == gross``)."""

    gross: int
    net: int
    tax: int


def split_gross(gross: int, rate_bp: int) -> Split:
    """Net and tax of a tax-inclusive amount at ``rate_bp`` basis points (module docstring)."""
    if not 0 <= rate_bp <= BP:
        raise ValueError("a tax rate is 0-10000 basis points")
    tax = _div_half_away(gross * rate_bp, BP + rate_bp)
    return Split(gross=gross, net=gross - tax, tax=tax)


def count_total(counted: Mapping[int, int]) -> int:
    """Cents of cash counted by denomination (``{cents of one note or coin: how many}``)."""
    if any(d <= 0 for d in counted):
        raise ValueError("a denomination is a positive number of cents")
    if any(n < 0 for n in counted.values()):
        raise ValueError("a count is never negative")
    return sum(d * n for d, n in counted.items())


@dataclass(frozen=True, slots=True)
class Movement:
    """One journal entry as the drawer sees it: its kind and its cash payments (signed)."""

    kind: Kind
    cash_cents: int


def expected_cash(movements: Iterable[Movement]) -> int:
    """What the drawer of a register session should hold before the count: the float, plus
    cash sales, minus cash refunds, plus or minus the cash operations. A closing difference
    is the result of a count, not part of what was expected."""
    return sum(m.cash_cents for m in movements if m.kind is not Kind.CLOSING_DIFFERENCE)


def change_due(amount: int, given: int) -> int:
    """Change for a cash payment of ``amount`` when ``given`` was handed over."""
    if given < amount:
        raise ValueError("less given than due")
    return given - amount
