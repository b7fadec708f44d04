"""Sales and refunds at a register: the journal entries of desk orders, written in the
order's own transaction, and refunds of journalled sales (a new entry, never an edit).

Sales does not import this module: ``server/app.py`` hands ``DeskJournal`` to the sales
service (its ``OrderJournal``) and the door's ``refund_tickets`` to ``DeskJournal``.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Protocol

import asyncpg

from server.articles.stock import (
    Level,
    StockNews,
    Taken,
    articles_total,
    check_quantities,
    restore,
    take,
)
from server.cash.journal import Draft, LineDraft, PaymentDraft, append
from server.cash.refunds import SALE_LINES, RefundChoice, Reversal, check_left, choose
from server.cash.refunds import journal_refund as _journal_refund
from server.cash.registers import session_for
from server.cash.wallet_payments import WalletMove, WalletPayer
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from server.sales.service import DeskSale, OrderRequest
from till.money import Kind, Method

RefundHook = Callable[[asyncpg.Connection, list[asyncpg.Record]], Awaitable[None]]


class RefundTickets(Protocol):
    """The door's refund (codes revoked, seats freed), with a hook in its transaction."""

    async def __call__(
        self,
        ticket_ids: list[int],
        sold_by: int | None = None,
        actor: Actor = ...,
        within: RefundHook | None = None,
    ) -> list[dict[str, Any]]: ...


def check_payments(desk: DeskSale, wallet: bool = False) -> list[PaymentDraft]:
    """Payments as journalled: a cash payment with what was given gets its change; a
    wallet payment (one at most, only where ``wallet``) names its pass's or ticket's code."""
    drafts = []
    if sum(p.method == Method.WALLET for p in desk.payments) > (1 if wallet else 0):
        message = "one wallet payment at most" if wallet else "a payment method is cash or card"
        raise Invalid("invalid_field", message, field="payments")
    for p in desk.payments:
        if p.method not in (Method.CASH, Method.CARD, Method.WALLET):
            raise Invalid("invalid_field", "a payment method is cash or card", field="payments")
        if (p.code is not None) != (p.method == Method.WALLET):
            raise Invalid("invalid_field", "'code' names the wallet of a wallet payment")
        if p.method == Method.WALLET and not p.amount_cents:
            raise Invalid("invalid_amount", "a wallet payment is at least one cent")
        if p.given_cents is None:
            drafts.append(PaymentDraft(p.method, p.amount_cents))
            continue
        if p.method != Method.CASH or p.given_cents < p.amount_cents:
            raise Invalid("invalid_given", "'given_cents' is for cash, at least the amount paid")
        change = p.given_cents - p.amount_cents
        drafts.append(PaymentDraft(p.method, p.amount_cents, p.given_cents, change))
    return drafts


class PassRefunds(Protocol):
    """The door's side of a pass's refund (``server.cash.pass_sales.PassIssuer``)."""

    async def unused_bookings(self, pass_ids: list[int]) -> list[int]: ...

    async def refund(
        self, conn: asyncpg.Connection, pass_ids: list[int], refunded: set[int]
    ) -> None: ...


class DeskJournal:
    def __init__(
        self,
        pool: asyncpg.Pool,
        refund_tickets: RefundTickets,
        news: StockNews,
        passes: PassRefunds,
        wallet: WalletPayer | None = None,
    ) -> None:
        self.pool = pool
        self.wallet = wallet
        self.refund_tickets = refund_tickets
        self.news = news
        self.passes = passes
        # Levels taken by an order's entry, announced once the order commits (an order
        # rolled back after its entry leaves one here; the feeds re-read it anyway).
        self._unannounced: dict[int, list[Level]] = {}

    # -- sales (sales.service.OrderJournal) -------------------------------------------------

    async def check(self, user_id: int, desk: DeskSale) -> int:
        """The register session is the caller's and open, the payments well formed; the
        total of the desk's articles at their current prices."""
        check_payments(desk, self.wallet is not None)
        async with connection(self.pool) as conn:
            s = await session_for(conn, desk.register_session_id, user_id, False, "SHARE")
            if not desk.articles:
                return 0
            return await articles_total(conn, check_quantities(desk.articles), s["currency"])

    async def write(
        self,
        conn: asyncpg.Connection,
        request: OrderRequest,
        rows: list[asyncpg.Record],
        tariffs: dict[int, asyncpg.Record],
        currency: str,
    ) -> dict[str, Any]:
        """The order's ``sale`` entry: a line per ticket, then a line per article sold with
        it (their stock taken here, in the order's transaction)."""
        desk, user_id = request.desk, request.user_id
        assert desk is not None and user_id is not None
        return await self.sale_entry(conn, desk, user_id, rows, tariffs, currency)

    async def sale_entry(
        self,
        conn: asyncpg.Connection,
        desk: DeskSale,
        user_id: int,
        rows: Sequence[Mapping[str, Any]],
        tariffs: Mapping[int, Mapping[str, Any]],
        currency: str,
    ) -> dict[str, Any]:
        """A ``sale`` entry for the tickets ``rows`` of one order (each with ``id``,
        ``order_id``, ``tariff_id`` and ``price_cents``; ``tariffs`` gives each tariff's
        ``name`` and ``tax_rate_bp``) and the articles of ``desk``, in the caller's
        transaction, at the caller's open register session: a desk order, or a reservation
        paid at the desk (``server/cash/reservations.py``)."""
        s = await session_for(conn, desk.register_session_id, user_id, False, "SHARE")
        if s["currency"] != currency:
            raise Invalid("currency_mismatch", f"this register takes {s['currency']}")
        lines = [
            LineDraft(
                description=tariffs[r["tariff_id"]]["name"],
                quantity=1,
                unit_gross_cents=r["price_cents"],
                tax_rate_bp=tariffs[r["tariff_id"]]["tax_rate_bp"],
                ticket_id=r["id"],
                tariff_id=r["tariff_id"],
            )
            for r in sorted(rows, key=lambda r: r["id"])
        ]
        taken = await self._take(conn, s, desk)
        lines += [
            LineDraft(t.name, t.quantity, t.price_cents, t.tax_rate_bp, article_id=t.article_id)
            for t in taken
        ]
        total = sum(ln.quantity * ln.unit_gross_cents for ln in lines)
        if sum(p.amount_cents for p in desk.payments) != total:  # a price changed meanwhile
            raise Invalid(
                "payments_mismatch", "the payments do not add up to the total", total_cents=total
            )
        payments = tuple(check_payments(desk, self.wallet is not None))
        draft = Draft(Kind.SALE, currency, payments, tuple(lines), order_id=rows[0]["order_id"])
        done = await append(conn, s["register_id"], s["id"], user_id, draft)
        receipt: dict[str, Any] = {
            "journal_id": done.journal_id,
            "register_id": s["register_id"],
            "register_session_id": s["id"],
            "receipt_no": done.receipt_no,
        }
        for p in desk.payments:
            if p.method == Method.WALLET and p.code is not None and self.wallet is not None:
                move = WalletMove(
                    p.amount_cents, currency, done.journal_id, s["register_id"], user_id
                )
                receipt["wallet"] = await self.wallet.pay(conn, p.code, move)
        if levels := [t.level for t in taken if t.level is not None]:
            self._unannounced[done.journal_id] = levels
        return receipt

    @staticmethod
    async def _take(conn: asyncpg.Connection, s: asyncpg.Record, desk: DeskSale) -> list[Taken]:
        if not desk.articles:
            return []
        point = await conn.fetchval(
            "SELECT point_of_sale_id FROM registers WHERE id = $1", s["register_id"]
        )
        taken = await take(conn, check_quantities(desk.articles), point)
        if any(t.currency != s["currency"] for t in taken):
            raise Invalid("currency_mismatch", f"this register takes {s['currency']}")
        return taken

    async def committed(self, receipt: dict[str, Any]) -> None:
        """The order is committed: announce its articles' stock."""
        await self.news.publish(self._unannounced.pop(receipt["journal_id"], []))

    # -- refunds -----------------------------------------------------------------------------

    async def refund(
        self,
        entry_id: int,
        choice: RefundChoice,
        register_session_id: int,
        method: Method,
        user_id: int,
        any_register: bool,
        actor: Actor,
    ) -> dict[str, Any]:
        """Refund lines of the journalled sale ``entry_id`` (all it has left when
        ``choice`` names nothing) from the caller's open register session: the door
        refunds its tickets (codes revoked, seats freed), the refunded articles go back to
        stock, a refunded pass becomes ``refunded`` with the bookings it has not used
        (refunded like tickets) and, in the same transaction, a ``refund`` entry reverses
        the lines. Without ``any_register``, only sales of the register the caller works
        at."""
        sale, chosen = await self._sale_lines(entry_id, choice)
        pass_ids = [ln.pass_id for ln in chosen if ln.pass_id is not None]
        bookings = await self.passes.unused_bookings(pass_ids) if pass_ids else []
        receipt: dict[str, Any] = {}
        restored: list[Level] = []

        async def journal(conn: asyncpg.Connection, _rows: list[asyncpg.Record]) -> None:
            s = await session_for(conn, register_session_id, user_id, False, "SHARE")
            if not any_register and s["register_id"] != sale["register_id"]:
                raise Forbidden(
                    "not_own_register",
                    "you may refund only the sales of your register",
                    needs=["refund.any"],
                )
            if s["currency"] != sale["currency"]:
                raise Invalid("currency_mismatch", f"this register takes {s['currency']}")
            returned = {ln.article_id: ln.quantity for ln in chosen if ln.article_id is not None}
            if returned:
                await check_left(conn, sale["id"], returned)
                restored.extend(await restore(conn, returned))
            if pass_ids:
                await self.passes.refund(conn, pass_ids, set(bookings))
            receipt.update(await _journal_refund(conn, s, sale, chosen, method, actor))
            if method == Method.WALLET:
                receipt["wallet"] = await self._to_wallet(conn, s, sale, receipt, user_id)

        ids = [ln.ticket_id for ln in chosen if ln.ticket_id is not None] + bookings
        tickets = await self.refund_tickets(ids, None, actor, journal)
        await self.news.publish(restored)
        articles = [
            {"article_id": ln.article_id, "quantity": ln.quantity}
            for ln in chosen
            if ln.article_id is not None
        ]
        return {**receipt, "tickets": tickets, "articles": articles, "passes": pass_ids}

    async def _to_wallet(
        self,
        conn: asyncpg.Connection,
        s: asyncpg.Record,
        sale: asyncpg.Record,
        receipt: dict[str, Any],
        user_id: int,
    ) -> dict[str, Any] | None:
        """A refund paid back to the wallet that paid the sale (a new ledger transaction)."""
        if self.wallet is None:
            raise Conflict("not_paid_by_wallet", "this sale was not paid from a wallet")
        amount = -receipt["total_cents"]
        if amount <= 0:
            return None
        move = WalletMove(
            amount, sale["currency"], receipt["journal_id"], s["register_id"], user_id
        )
        return await self.wallet.refund(conn, sale["id"], move)

    @staticmethod
    async def refuse_journalled(conn: asyncpg.Connection, rows: list[asyncpg.Record]) -> None:
        """The door's guard on its ticket refund: a ticket sold at a register is refunded
        through the journal (``POST /api/journal/{id}/refund``), so the money is in it."""
        entry = await conn.fetchval(
            "SELECT l.journal_id FROM journal_lines l JOIN journal j ON j.id = l.journal_id"
            " WHERE l.ticket_id = ANY($1::bigint[]) AND j.kind = 'sale' LIMIT 1",
            [r["id"] for r in rows],
        )
        if entry is not None:
            raise Conflict(
                "journalled_sale",
                "this ticket was sold at a register: refund it through its journal entry",
                journal_id=entry,
            )

    async def _sale_lines(
        self, entry_id: int, choice: RefundChoice
    ) -> tuple[asyncpg.Record, list[Reversal]]:
        """The sale entry and the lines to reverse (the door rechecks each ticket under
        its lock, the refund's transaction what is left of each article)."""
        async with connection(self.pool) as conn:
            sale = await conn.fetchrow(
                "SELECT id, kind, register_id, order_id, currency FROM journal WHERE id = $1",
                entry_id,
            )
            if sale is None:
                raise NotFound.of("journal entry")
            if sale["kind"] != Kind.SALE:
                raise Conflict("not_a_sale", "only a sale can be refunded")
            lines = await conn.fetch(SALE_LINES, entry_id)
        return sale, choose(lines, choice)

    async def entries(
        self, register_session_id: int, limit: int, offset: int
    ) -> list[dict[str, Any]]:
        """The journal of a register session, newest first, with lines and payments."""
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                ENTRIES + " WHERE j.register_session_id = $1 ORDER BY j.receipt_no DESC"
                " LIMIT $2 OFFSET $3",
                register_session_id,
                limit,
                offset,
            )
        return [entry_json(r) for r in rows]

    async def receipt(self, journal_id: int) -> tuple[dict[str, Any], str, str]:
        """A journal entry, the name of its register and of its cashier (for its receipt)."""
        async with connection(self.pool) as conn:
            found = await entry(conn, journal_id)
            names = await conn.fetchrow(
                "SELECT r.name AS register,"
                " coalesce(nullif(u.display_name, ''), u.username, '') AS cashier"
                " FROM registers r LEFT JOIN users u ON u.id = $2 WHERE r.id = $1",
                found["register_id"],
                found["cashier_id"],
            )
        return found, names["register"], names["cashier"]


ENTRIES = (
    "SELECT j.*, coalesce((SELECT json_agg(json_build_object('line_no', l.line_no,"
    " 'ticket_id', l.ticket_id, 'tariff_id', l.tariff_id, 'article_id', l.article_id,"
    " 'pass_id', l.pass_id, 'description', l.description, 'quantity', l.quantity,"
    " 'unit_gross_cents', l.unit_gross_cents, 'tax_rate_bp', l.tax_rate_bp,"
    " 'net_cents', l.net_cents, 'tax_cents', l.tax_cents, 'gross_cents', l.gross_cents,"
    " 'ticket', CASE WHEN t.id IS NOT NULL THEN json_build_object('session_id', s.id,"
    " 'event', s.event_name, 'starts_at', s.starts_at, 'row', se.row_label, 'seat', se.label)"
    " END) ORDER BY l.line_no) FROM journal_lines l"
    " LEFT JOIN tickets t ON t.id = l.ticket_id LEFT JOIN sessions s ON s.id = t.session_id"
    " LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx"
    " WHERE l.journal_id = j.id AND l.journal_created_at = j.created_at), '[]')"
    " AS lines,"
    " coalesce((SELECT json_agg(json_build_object('method', p.method,"
    " 'amount_cents', p.amount_cents, 'given_cents', p.given_cents,"
    " 'change_cents', p.change_cents) ORDER BY p.line_no)"
    " FROM journal_payments p WHERE p.journal_id = j.id"
    " AND p.journal_created_at = j.created_at), '[]') AS payments"
    " FROM journal j"
)
"""Journal entries with their lines and payments (add the WHERE). A ticket's line names
its session and seat (``ticket``: not journalled figures, read from the ticket), so a
receipt printed again anywhere says where to sit."""


async def entry(conn: asyncpg.Connection, journal_id: int) -> dict[str, Any]:
    row = await conn.fetchrow(ENTRIES + " WHERE j.id = $1", journal_id)
    if row is None:
        raise NotFound.of("journal entry")
    return entry_json(row)


def entry_json(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": r["id"],
        "register_id": r["register_id"],
        "receipt_no": r["receipt_no"],
        "register_session_id": r["register_session_id"],
        "cashier_id": r["cashier_id"],
        "kind": r["kind"],
        "created_at": r["created_at"].isoformat(),
        "currency": r["currency"],
        "total_cents": r["total_cents"],
        "net_cents": r["net_cents"],
        "tax_cents": r["tax_cents"],
        "order_id": r["order_id"],
        "reverses_id": r["reverses_id"],
        "reason": r["reason"],
        "hash": bytes(r["hash"]).hex(),
        "lines": json.loads(r["lines"]),
        "payments": json.loads(r["payments"]),
    }
