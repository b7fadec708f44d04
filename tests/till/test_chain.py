"""The journal's hash chain: canonical, order-free for lines, and broken by any change."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from till.chain import GENESIS, Entry, Line, Payment, canonical, entry_hash, micros, verify

AT = datetime(2026, 11, 29, 20, 15, 3, 123456, tzinfo=UTC)


def entry(n: int, total: int = 1500, **changes: object) -> Entry:
    base = Entry(
        register_id=1,
        receipt_no=n,
        register_session_id=7,
        cashier_id=3,
        kind="sale",
        created_at=AT + timedelta(seconds=n),
        currency="EUR",
        total_cents=total,
        net_cents=total - 78,
        tax_cents=78,
        order_id=40 + n,
        reverses_id=None,
        reason=None,
        lines=[Line(1, 9, 2, "Plein tarif", 1, total, 550, total - 78, 78, total)],
        payments=[Payment(1, "cash", total, 2000, 2000 - total)],
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def chained(entries: list[Entry]) -> list[tuple[Entry, bytes, bytes]]:
    out, prev = [], GENESIS
    for e in entries:
        h = entry_hash(prev, e)
        out.append((e, prev, h))
        prev = h
    return out


def test_the_encoding_is_stable() -> None:
    # a change of this encoding breaks every stored chain: it needs a new VERSION
    assert canonical(entry(1)) == (
        b"guichet-journal-1\n"
        b'[1,1,7,3,"sale",1795983304123456,"EUR",1500,1422,78,41,null,null,'
        b'[[1,9,2,"Plein tarif",1,1500,550,1422,78,1500]],[[1,"cash",1500,2000,500]]]'
    )


def test_an_article_line_ends_with_its_article_and_changing_it_breaks_the_hash() -> None:
    line = Line(1, None, None, "Soda", 2, 350, 550, 664, 36, 700, article_id=12)
    sold = entry(1, total=700, order_id=None, lines=[line])
    assert b'[[1,null,null,"Soda",2,350,550,664,36,700,12]]' in canonical(sold)
    other = dataclasses.replace(sold, lines=[dataclasses.replace(line, article_id=13)])
    assert entry_hash(GENESIS, other) != entry_hash(GENESIS, sold)


def test_a_pass_line_ends_with_no_article_and_its_pass_and_changing_it_breaks_the_hash() -> None:
    line = Line(1, None, None, "Festival - Ines Moreau", 1, 4500, 550, 4265, 235, 4500, pass_id=8)
    sold = entry(1, total=4500, order_id=None, lines=[line])
    assert b'[[1,null,null,"Festival - Ines Moreau",1,4500,550,4265,235,4500,null,8]]' in (
        canonical(sold)
    )
    other = dataclasses.replace(sold, lines=[dataclasses.replace(line, pass_id=9)])
    assert entry_hash(GENESIS, other) != entry_hash(GENESIS, sold)


def test_the_time_counts_in_microseconds_whatever_the_zone() -> None:
    paris = AT.astimezone(datetime.now().astimezone().tzinfo)
    assert micros(paris) == micros(AT)


def test_a_whole_chain_verifies() -> None:
    assert verify(chained([entry(n) for n in range(1, 6)])) is None


@given(
    st.integers(1, 5),
    st.sampled_from(["total_cents", "kind", "reason", "cashier_id", "created_at", "lines"]),
)
def test_changing_any_field_of_any_entry_breaks_the_chain_there(n: int, name: str) -> None:
    chain = chained([entry(i) for i in range(1, 6)])
    original, prev, stored = chain[n - 1]
    value: object = {
        "total_cents": 1501,
        "kind": "refund",
        "reason": "x",
        "cashier_id": 4,
        "created_at": original.created_at + timedelta(microseconds=1),
        "lines": [],
    }[name]
    chain[n - 1] = (dataclasses.replace(original, **{name: value}), prev, stored)  # type: ignore[arg-type]
    broken = verify(chain)
    assert broken is not None and (broken.receipt_no, broken.reason) == (n, "hash")


def test_a_removed_entry_is_a_gap() -> None:
    chain = chained([entry(n) for n in range(1, 6)])
    del chain[2]
    broken = verify(chain)
    assert broken is not None and (broken.receipt_no, broken.reason) == (4, "gap")


def test_a_rehashed_entry_breaks_at_the_next_one() -> None:
    chain = chained([entry(n) for n in range(1, 4)])
    forged = entry(2, total=1)
    chain[1] = (forged, chain[1][1], entry_hash(chain[1][1], forged))
    broken = verify(chain)
    assert broken is not None and (broken.receipt_no, broken.reason) == (3, "prev_hash")
