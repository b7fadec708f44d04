"""Articles sold at a register: one transaction takes the stock, journals a ``sale`` entry
with one line per article (its price and tax rate snapshotted, tax split by ``till``) and
the payments, and records the idempotency key; the new stock levels are announced after
the commit (docs/cash.md, "Articles").

The key is claimed first (``INSERT … ON CONFLICT DO NOTHING``): a concurrent retry waits
for the first to commit or roll back, then replays its entry or sells in its place.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import asyncpg

from server.articles.stock import StockNews, Taken, take
from server.cash.desk import check_payments, entry
from server.cash.journal import Draft, LineDraft, PaymentDraft, append
from server.cash.registers import session_for
from server.cash.wallet_payments import WalletMove, WalletPayer
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Invalid, Mismatch, NotFound
from server.sales.service import DeskSale
from till.money import Kind, Method


def fingerprint(session_id: int, wanted: Mapping[int, int], desk: DeskSale) -> str:
    """What a retry must repeat to replay a sale."""
    body = [
        session_id,
        sorted(wanted.items()),
        [[p.method, p.amount_cents, p.given_cents, p.code] for p in desk.payments],
    ]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


class ArticleSales:
    def __init__(
        self, pool: asyncpg.Pool, news: StockNews, wallet: WalletPayer | None = None
    ) -> None:
        self.pool = pool
        self.news = news
        self.wallet = wallet
        """Takes a ``wallet`` payment (docs/wallet.md, "Paying at the desk"): debited in
        the sale's transaction, so a balance short of it sells nothing."""

    async def sell(
        self,
        key: str,
        wanted: Mapping[int, int],
        desk: DeskSale,
        user_id: int,
        actor: Actor,
    ) -> tuple[dict[str, Any], bool]:
        """Sell ``{article id: quantity}`` in the caller's open register session. Returns
        the journal entry and whether this call made it (False: a replay)."""
        payments = tuple(check_payments(desk, self.wallet is not None))
        print_ = fingerprint(desk.register_session_id, wanted, desk)
        async with connection(self.pool) as conn:
            async with conn.transaction():
                try:
                    claimed = await conn.fetchval(
                        "INSERT INTO article_sales (idempotency_key, register_session_id,"
                        " fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                        " RETURNING true",
                        key,
                        desk.register_session_id,
                        print_,
                    )
                except asyncpg.ForeignKeyViolationError as exc:
                    raise NotFound.of("register session") from exc
                if not claimed:
                    return await _replay(conn, key, print_), False
                journal_id, taken = await self._sell(
                    conn, key, wanted, desk, payments, user_id, actor
                )
            sold = await entry(conn, journal_id)
        await self.news.publish([t.level for t in taken if t.level is not None])
        return sold, True

    async def _sell(
        self,
        conn: asyncpg.Connection,
        key: str,
        wanted: Mapping[int, int],
        desk: DeskSale,
        payments: tuple[PaymentDraft, ...],
        user_id: int,
        actor: Actor,
    ) -> tuple[int, list[Taken]]:
        s = await session_for(conn, desk.register_session_id, user_id, False, "SHARE")
        point = await conn.fetchval(
            "SELECT point_of_sale_id FROM registers WHERE id = $1", s["register_id"]
        )
        taken = await take(conn, wanted, point)
        if any(t.currency != s["currency"] for t in taken):
            raise Invalid("currency_mismatch", f"this register takes {s['currency']}")
        total = sum(t.quantity * t.price_cents for t in taken)
        if sum(p.amount_cents for p in payments) != total:
            raise Invalid(
                "payments_mismatch", "the payments do not add up to the total", total_cents=total
            )
        lines = tuple(
            LineDraft(t.name, t.quantity, t.price_cents, t.tax_rate_bp, article_id=t.article_id)
            for t in taken
        )
        draft = Draft(Kind.SALE, s["currency"], payments, lines)
        done = await append(conn, s["register_id"], s["id"], user_id, draft)
        for p in desk.payments:
            if p.method == Method.WALLET and p.code is not None and self.wallet is not None:
                move = WalletMove(
                    p.amount_cents, s["currency"], done.journal_id, s["register_id"], user_id
                )
                await self.wallet.pay(conn, p.code, move)
        await conn.execute(
            "UPDATE article_sales SET journal_id = $2 WHERE idempotency_key = $1",
            key,
            done.journal_id,
        )
        await audit.record(
            conn,
            actor,
            "journal.sale",
            f"journal:{done.journal_id}",
            articles={t.article_id: t.quantity for t in taken},
            total_cents=total,
        )
        return done.journal_id, taken


async def _replay(conn: asyncpg.Connection, key: str, print_: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT fingerprint, journal_id FROM article_sales WHERE idempotency_key = $1", key
    )
    if row is None or row["fingerprint"] != print_:
        raise Mismatch(
            "idempotency_key_mismatch",
            "this idempotency key was used for a different sale; use a new key",
        )
    sold: dict[str, Any] = await entry(conn, row["journal_id"])
    return sold
