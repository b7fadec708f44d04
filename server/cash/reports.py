"""What a register session took, computed from the journal alone: the X report while it
is open, the Z report once closed, and the register statement (cash received, tickets per
tariff, articles, tax per rate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg

from till.money import Kind, Movement, expected_cash

_BY_KIND = (
    "SELECT j.kind, count(*) AS entries, sum(j.total_cents)::bigint AS total_cents,"
    " sum(coalesce(c.cash, 0))::bigint AS cash_cents,"
    " sum(coalesce(c.card, 0))::bigint AS card_cents"
    " FROM journal j LEFT JOIN LATERAL ("
    "  SELECT sum(amount_cents) FILTER (WHERE method = 'cash') AS cash,"
    "  sum(amount_cents) FILTER (WHERE method = 'card') AS card"
    "  FROM journal_payments p WHERE p.journal_id = j.id"
    "  AND p.journal_created_at = j.created_at) c ON true"
    " WHERE j.register_session_id = $1 GROUP BY j.kind ORDER BY j.kind"
)
_BY_TARIFF = (
    "SELECT l.tariff_id, l.description, sum(l.quantity)::bigint AS tickets,"
    " sum(l.gross_cents)::bigint AS gross_cents FROM journal_lines l"
    " JOIN journal j ON j.id = l.journal_id AND j.created_at = l.journal_created_at"
    " WHERE j.register_session_id = $1 AND j.kind IN ('sale', 'refund')"
    " AND l.article_id IS NULL AND l.pass_id IS NULL"
    " GROUP BY l.tariff_id, l.description ORDER BY l.tariff_id, l.description"
)
_BY_ARTICLE = (
    "SELECT l.article_id, l.description, sum(l.quantity)::bigint AS units,"
    " sum(l.gross_cents)::bigint AS gross_cents FROM journal_lines l"
    " JOIN journal j ON j.id = l.journal_id AND j.created_at = l.journal_created_at"
    " WHERE j.register_session_id = $1 AND l.article_id IS NOT NULL"
    " GROUP BY l.article_id, l.description ORDER BY l.article_id, l.description"
)
_BY_PASS_TYPE = (
    "SELECT p.pass_type_id, coalesce(pt.name, '') AS description,"
    " sum(l.quantity)::bigint AS passes, sum(l.gross_cents)::bigint AS gross_cents"
    " FROM journal_lines l"
    " JOIN journal j ON j.id = l.journal_id AND j.created_at = l.journal_created_at"
    " JOIN passes p ON p.id = l.pass_id LEFT JOIN pass_types pt ON pt.id = p.pass_type_id"
    " WHERE j.register_session_id = $1"
    " GROUP BY p.pass_type_id, pt.name ORDER BY p.pass_type_id"
)
_BY_RATE = (
    "SELECT l.tax_rate_bp, sum(l.net_cents)::bigint AS net_cents,"
    " sum(l.tax_cents)::bigint AS tax_cents,"
    " sum(l.gross_cents)::bigint AS gross_cents FROM journal_lines l"
    " JOIN journal j ON j.id = l.journal_id AND j.created_at = l.journal_created_at"
    " WHERE j.register_session_id = $1 GROUP BY l.tax_rate_bp ORDER BY l.tax_rate_bp"
)


@dataclass(frozen=True, slots=True)
class Report:
    by_kind: list[dict[str, Any]]
    by_tariff: list[dict[str, Any]]
    by_rate: list[dict[str, Any]]
    by_article: list[dict[str, Any]]
    by_pass_type: list[dict[str, Any]]

    @property
    def movements(self) -> list[Movement]:
        return [Movement(Kind(k["kind"]), k["cash_cents"]) for k in self.by_kind]

    def _sum(self, kinds: tuple[Kind, ...], key: str) -> int:
        return sum(k[key] for k in self.by_kind if Kind(k["kind"]) in kinds)

    def json(self, blind: bool) -> dict[str, Any]:
        sales, refunds = (Kind.SALE,), (Kind.REFUND,)
        return {
            "cash_sales_cents": self._sum(sales, "cash_cents"),
            "card_sales_cents": self._sum(sales, "card_cents"),
            "cash_refunds_cents": -self._sum(refunds, "cash_cents"),
            "card_refunds_cents": -self._sum(refunds, "card_cents"),
            "cash_received_cents": self._sum((*sales, *refunds), "cash_cents"),
            "expected_cash_cents": None if blind else expected_cash(self.movements),
            "by_kind": self.by_kind,
            "tickets_by_tariff": self.by_tariff,
            "articles": self.by_article,
            "passes": self.by_pass_type,
            "tax_by_rate": self.by_rate,
        }


async def report(conn: asyncpg.Connection, session_id: int) -> Report:
    by_kind = [dict(r) for r in await conn.fetch(_BY_KIND, session_id)]
    by_tariff = [dict(r) for r in await conn.fetch(_BY_TARIFF, session_id)]
    by_rate = [dict(r) for r in await conn.fetch(_BY_RATE, session_id)]
    by_article = [dict(r) for r in await conn.fetch(_BY_ARTICLE, session_id)]
    by_pass_type = [dict(r) for r in await conn.fetch(_BY_PASS_TYPE, session_id)]
    return Report(by_kind, by_tariff, by_rate, by_article, by_pass_type)
