"""The buyer's view of an order, reached by its private link: each ticket with its signed
code, seat, tariff and session; the PDF of all tickets or of one."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg

from scanning.qr import tickets_pdf
from server.door.keys import KeyStore, ticket_code
from server.platform.db import connection
from server.platform.errors import Conflict, NotFound

_ORDER = (
    "SELECT o.id, o.status, o.channel, o.buyer_name, o.total_cents, o.currency, o.created_at,"
    " o.session_id, s.event_name, s.starts_at, s.ends_at, r.name AS room,"
    " p.status AS payment_status, p.redirect_url"
    " FROM orders o LEFT JOIN sessions s ON s.id = o.session_id"
    " LEFT JOIN rooms r ON r.id = s.room_id"
    " LEFT JOIN payments p ON p.order_id = o.id WHERE o.id = $1"
)
_TICKETS = (
    "SELECT t.id, t.status, t.code_seed, t.seat_idx, t.price_cents, se.seat_id, se.label AS seat,"
    " se.row_label AS row, ta.name AS tariff, t.session_id, s.event_name, s.starts_at,"
    " s.ends_at, r.name AS room FROM tickets t"
    " JOIN sessions s ON s.id = t.session_id JOIN rooms r ON r.id = s.room_id"
    " LEFT JOIN tariffs ta ON ta.id = t.tariff_id"
    " LEFT JOIN seats se ON se.plan_id = s.seat_plan_id AND se.idx = t.seat_idx"
    " WHERE t.order_id = $1 ORDER BY t.id"
)
_PRODUCTS = (
    "SELECT description, quantity, gross_cents, pass_id, article_id FROM order_products"
    " WHERE order_id = $1 ORDER BY id"
)


def _session(row: asyncpg.Record) -> dict[str, Any] | None:
    """The session a row names (an order of one session, or a ticket)."""
    if row["session_id"] is None:
        return None
    return {
        "id": row["session_id"],
        "event_name": row["event_name"],
        "starts_at": row["starts_at"].isoformat(),
        "ends_at": row["ends_at"].isoformat(),
        "room": row["room"],
    }


class OrderView:
    def __init__(self, pool: asyncpg.Pool, keys: KeyStore) -> None:
        self.pool = pool
        self.keys = keys

    async def view(self, order_id: int) -> dict[str, Any]:
        """The order, its session (a cart's order: its first ticket's), its payment's
        state, its tickets with their codes and sessions, its passes and articles."""
        async with connection(self.pool) as conn:
            order = await conn.fetchrow(_ORDER, order_id)
            if order is None or order["channel"] != "web":
                raise NotFound("unknown_order", "no order has this link")
            tickets = await conn.fetch(_TICKETS, order_id)
            products = await conn.fetch(_PRODUCTS, order_id)
        session = _session(order) or (_session(tickets[0]) if tickets else None)
        return {
            "id": order["id"],
            "status": order["status"],
            "payment_status": order["payment_status"],
            "payment_url": order["redirect_url"] if order["payment_status"] == "open" else None,
            "buyer_name": order["buyer_name"],
            "total_cents": order["total_cents"],
            "currency": order["currency"],
            "created_at": order["created_at"].isoformat(),
            "session": session,
            "tickets": [await self._ticket(t) for t in tickets],
            "products": [dict(p) for p in products],
        }

    async def _ticket(self, t: asyncpg.Record) -> dict[str, Any]:
        code = None
        if t["status"] == "active":
            code = await ticket_code(
                self.keys,
                t["id"],
                t["session_id"],
                t["starts_at"],
                t["ends_at"],
                bytes(t["code_seed"]),
            )
        return {
            "id": t["id"],
            "status": t["status"],
            "seat_id": t["seat_id"],
            "row": t["row"],
            "seat": t["seat"],
            "tariff": t["tariff"] or "",
            "price_cents": t["price_cents"],
            "code": code,
            "session": _session(t),
        }

    async def code(self, order_id: int, ticket_id: int) -> str:
        """One active ticket's code (404 for a ticket of another order)."""
        view = await self.view(order_id)
        for ticket in view["tickets"]:
            if ticket["id"] == ticket_id:
                if ticket["code"] is None:
                    raise Conflict("ticket_not_active", f"the ticket is {ticket['status']}")
                return str(ticket["code"])
        raise NotFound.of("ticket")

    async def pdf(self, order_id: int, ticket_id: int | None = None) -> bytes:
        """The printable tickets (A6, one a page) of the order, or of one of its tickets."""
        view = await self.view(order_id)
        chosen = [
            t
            for t in view["tickets"]
            if t["code"] is not None and (ticket_id is None or t["id"] == ticket_id)
        ]
        if ticket_id is not None and not chosen:
            raise NotFound.of("ticket")
        if not chosen:
            raise Conflict("no_tickets", "this order has no valid ticket yet")
        pages = [
            {
                "code": t["code"],
                "event": t["session"]["event_name"],
                "session_start": t["session"]["starts_at"][:16].replace("T", " "),
                "room": t["session"]["room"],
                "seat": t["seat"],
                "row": t["row"],
                "tariff": t["tariff"],
                "holder": view["buyer_name"],
            }
            for t in chosen
        ]
        return await asyncio.to_thread(tickets_pdf, pages)
