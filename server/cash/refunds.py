"""What a refund of a journalled sale reverses: its tickets (each a line of one) and its
articles (a line per article, refunded whole or some of its units), and the ``refund``
entry that reverses them (a new entry naming the sale, never an edit).

What is left of an article line is its quantity less what the refunds of that sale
already reversed; the refund's transaction locks the sale's row first, so two refunds of
the same sale are checked one after the other and never give back more than was sold.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from server.cash.journal import Draft, LineDraft, PaymentDraft, append
from server.platform import audit
from server.platform.audit import Actor
from server.platform.errors import Conflict, Invalid
from till.money import Kind, Method


@dataclass(frozen=True, slots=True)
class RefundChoice:
    """What to refund: some tickets, some units of some articles, some passes; nothing
    named: all that is left of the sale."""

    ticket_ids: tuple[int, ...] | None = None
    articles: Mapping[int, int] | None = None
    pass_ids: tuple[int, ...] | None = None

    @property
    def whole(self) -> bool:
        return self.ticket_ids is None and self.articles is None and self.pass_ids is None


@dataclass(frozen=True, slots=True)
class Reversal:
    """A sale line (or some units of it) to reverse."""

    description: str
    quantity: int  # units given back (positive)
    unit_gross_cents: int
    tax_rate_bp: int
    ticket_id: int | None = None
    tariff_id: int | None = None
    article_id: int | None = None
    pass_id: int | None = None

    @property
    def gross_cents(self) -> int:
        return self.quantity * self.unit_gross_cents


SALE_LINES = """
SELECT l.*, t.status, p.status AS pass_status,
    l.quantity + coalesce((SELECT sum(r.quantity) FROM journal_lines r
        JOIN journal j ON j.id = r.journal_id
        WHERE j.reverses_id = l.journal_id AND r.article_id = l.article_id), 0) AS left_units
FROM journal_lines l LEFT JOIN tickets t ON t.id = l.ticket_id
LEFT JOIN passes p ON p.id = l.pass_id
WHERE l.journal_id = $1 ORDER BY l.line_no
"""
"""A sale's lines, with each article line's units not yet refunded."""


def _reversal(ln: asyncpg.Record, quantity: int) -> Reversal:
    return Reversal(
        ln["description"],
        quantity,
        ln["unit_gross_cents"],
        ln["tax_rate_bp"],
        ln["ticket_id"],
        ln["tariff_id"],
        ln["article_id"],
        ln["pass_id"],
    )


def choose(lines: list[asyncpg.Record], choice: RefundChoice) -> list[Reversal]:
    """The reversals ``choice`` asks of a sale's ``lines`` (``SALE_LINES``)."""
    if choice.whole:
        chosen = [
            _reversal(ln, 1 if ln["ticket_id"] is not None else ln["left_units"])
            for ln in lines
            if (ln["ticket_id"] is not None and ln["status"] == "active")
            or (ln["article_id"] is not None and ln["left_units"] > 0)
            or (ln["pass_id"] is not None and ln["pass_status"] == "active")
        ]
        if not chosen:
            has_tickets = any(ln["ticket_id"] is not None for ln in lines)
            code = "ticket_not_active" if has_tickets else "already_refunded"
            raise Conflict(code, "everything of this sale is refunded")
        return chosen
    chosen = []
    by_ticket = {ln["ticket_id"]: ln for ln in lines if ln["ticket_id"] is not None}
    tickets = set(choice.ticket_ids or ())
    if not tickets <= by_ticket.keys():
        raise Invalid("ticket_not_in_sale", "a ticket is not one of this sale")
    chosen += [_reversal(by_ticket[t], 1) for t in sorted(tickets)]
    by_article = {ln["article_id"]: ln for ln in lines if ln["article_id"] is not None}
    articles = choice.articles or {}
    if not articles.keys() <= by_article.keys():
        raise Invalid("article_not_in_sale", "an article is not one of this sale")
    chosen += [_reversal(by_article[a], q) for a, q in sorted(articles.items())]
    by_pass = {ln["pass_id"]: ln for ln in lines if ln["pass_id"] is not None}
    passes = set(choice.pass_ids or ())
    if not passes <= by_pass.keys():
        raise Invalid("pass_not_in_sale", "a pass is not one of this sale")
    chosen += [_reversal(by_pass[p], 1) for p in sorted(passes)]
    return chosen


async def check_left(conn: asyncpg.Connection, sale_id: int, returned: Mapping[int, int]) -> None:
    """Under the sale row's lock: each article has at least the units to give back left
    (409 ``already_refunded`` otherwise)."""
    await conn.execute("SELECT 1 FROM journal WHERE id = $1 FOR NO KEY UPDATE", sale_id)
    left = {
        r["article_id"]: r["left_units"]
        for r in await conn.fetch(SALE_LINES, sale_id)
        if r["article_id"] is not None
    }
    over = [
        {"article_id": a, "requested": q, "left": left.get(a, 0)}
        for a, q in sorted(returned.items())
        if q > left.get(a, 0)
    ]
    if over:
        raise Conflict("already_refunded", "more units than are left to refund", articles=over)


async def journal_refund(
    conn: asyncpg.Connection,
    s: asyncpg.Record,
    sale: asyncpg.Record,
    chosen: list[Reversal],
    method: Method,
    actor: Actor,
) -> dict[str, Any]:
    """The ``refund`` entry reversing ``chosen`` lines of ``sale``, paid out of ``s``."""
    reversed_lines = tuple(
        LineDraft(
            ln.description,
            -ln.quantity,
            ln.unit_gross_cents,
            ln.tax_rate_bp,
            ln.ticket_id,
            ln.tariff_id,
            ln.article_id,
            ln.pass_id,
        )
        for ln in chosen
    )
    total = sum(ln.gross_cents for ln in chosen)
    payment = PaymentDraft(method.value, -total)
    draft = Draft(
        Kind.REFUND,
        sale["currency"],
        (payment,),
        reversed_lines,
        order_id=sale["order_id"],
        reverses_id=sale["id"],
    )
    done = await append(conn, s["register_id"], s["id"], s["cashier_id"], draft)
    await audit.record(
        conn,
        actor,
        "journal.refund",
        f"journal:{sale['id']}",
        refund_journal_id=done.journal_id,
        tickets=[ln.ticket_id for ln in chosen if ln.ticket_id is not None],
        articles={ln.article_id: ln.quantity for ln in chosen if ln.article_id is not None},
        passes=[ln.pass_id for ln in chosen if ln.pass_id is not None],
        total_cents=-total,
    )
    return {
        "journal_id": done.journal_id,
        "register_id": s["register_id"],
        "register_session_id": s["id"],
        "receipt_no": done.receipt_no,
        "total_cents": -total,
        "currency": sale["currency"],
    }
