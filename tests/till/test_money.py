"""The cash desk's arithmetic: tax from gross, counted cash, expected cash."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from till.money import (
    BP,
    OPERATION_SIGN,
    Kind,
    Movement,
    change_due,
    count_total,
    expected_cash,
    split_gross,
)

gross = st.integers(min_value=-(10**12), max_value=10**12)
rate = st.integers(min_value=0, max_value=BP)


@given(gross, rate)
def test_net_and_tax_always_add_up_to_the_gross(g: int, r: int) -> None:
    split = split_gross(g, r)
    assert split.net + split.tax == split.gross == g


@given(gross, rate)
def test_the_tax_is_the_nearest_cent_to_the_exact_tax(g: int, r: int) -> None:
    # exact tax = g * r / (BP + r); the rounded one is within half a cent of it
    tax = split_gross(g, r).tax
    assert abs(2 * (tax * (BP + r) - g * r)) <= BP + r


@given(gross, rate)
def test_a_refund_reverses_its_sale_to_the_cent(g: int, r: int) -> None:
    sale, refund = split_gross(g, r), split_gross(-g, r)
    assert (refund.net, refund.tax) == (-sale.net, -sale.tax)


@pytest.mark.parametrize(
    ("g", "r", "tax"),
    [
        (1500, 550, 78),  # 78.20…: down
        (1000, 2000, 167),  # 166.67: up
        (1055, 550, 55),  # exactly 55.00
        (0, 550, 0),
        (1500, 0, 0),
        (21, 1000, 2),  # 1.909…
        (-1000, 2000, -167),
    ],
)
def test_known_taxes(g: int, r: int, tax: int) -> None:
    assert split_gross(g, r).tax == tax


def test_halves_round_away_from_zero() -> None:
    # 3 cents at 10000 bp (100 %): exact tax 1.5
    assert split_gross(3, 10_000).tax == 2
    assert split_gross(-3, 10_000).tax == -2


def test_a_rate_out_of_range_is_refused() -> None:
    with pytest.raises(ValueError):
        split_gross(100, 10_001)


@given(st.dictionaries(st.integers(1, 50_000), st.integers(0, 1000), max_size=15))
def test_a_count_is_the_sum_of_its_denominations(counted: dict[int, int]) -> None:
    assert count_total(counted) == sum(d * n for d, n in counted.items())


def test_a_negative_count_is_refused() -> None:
    with pytest.raises(ValueError):
        count_total({100: -1})
    with pytest.raises(ValueError):
        count_total({0: 3})


def test_change_due() -> None:
    assert change_due(1730, 2000) == 270
    with pytest.raises(ValueError):
        change_due(1730, 1000)


@given(
    st.integers(0, 10**6),
    st.lists(st.integers(0, 10**5), max_size=20),
    st.lists(st.integers(0, 10**5), max_size=20),
    st.lists(st.tuples(st.sampled_from(sorted(OPERATION_SIGN)), st.integers(1, 10**5))),
    st.integers(-(10**5), 10**5),
)
def test_expected_cash_is_float_plus_sales_minus_refunds_plus_operations(
    opening: int,
    sales: list[int],
    refunds: list[int],
    operations: list[tuple[Kind, int]],
    difference: int,
) -> None:
    movements = [
        Movement(Kind.FLOAT, opening),
        *(Movement(Kind.SALE, s) for s in sales),
        *(Movement(Kind.REFUND, -r) for r in refunds),
        *(Movement(k, OPERATION_SIGN[k] * a) for k, a in operations),
        Movement(Kind.CLOSING_DIFFERENCE, difference),
    ]
    credits = sum(a for k, a in operations if k in (Kind.CREDIT, Kind.DEBIT_ERROR))
    debits = sum(a for k, a in operations if k in (Kind.DEBIT, Kind.CREDIT_ERROR))
    expected = opening + sum(sales) - sum(refunds) + credits - debits
    assert expected_cash(movements) == expected
