"""What the buyer sees of a cart and of the shop's offer: each session's seats and places
with their tariffs (and the tariff's note, the eligibility of a reduced price), the passes
with their holders, the articles, the total at today's prices, and the one countdown."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import asyncpg

from server.catalog.service import Catalog
from server.platform.db import connection
from server.platform.errors import NotFound


def now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def cart_status(row: asyncpg.Record) -> str:
    if row["order_id"] is not None:
        return "checked_out"
    if row["released_at"] is not None or ms(row["expires_at"]) <= now_ms():
        return "expired"
    return "open"


async def cart_view(conn: asyncpg.Connection, catalog: Catalog, cart_id: str) -> dict[str, Any]:
    row = await conn.fetchrow("SELECT * FROM carts WHERE id = $1", cart_id)
    if row is None:
        raise NotFound("unknown_cart", "no such cart")
    sessions = [
        await _session_view(catalog, s)
        for s in await conn.fetch(
            "SELECT session_id, hold_token, lines FROM cart_sessions WHERE cart_id = $1"
            " ORDER BY session_id",
            cart_id,
        )
    ]
    products = await conn.fetch(
        "SELECT c.id, c.pass_type_id, c.article_id, c.quantity, c.holder_first_name,"
        " c.holder_last_name, c.photo IS NOT NULL AS has_photo,"
        " coalesce(p.name, a.name) AS name, coalesce(p.price_cents, a.price_cents) AS price,"
        " coalesce(p.currency, a.currency) AS currency"
        " FROM cart_products c LEFT JOIN pass_types p ON p.id = c.pass_type_id"
        " LEFT JOIN articles a ON a.id = c.article_id WHERE c.cart_id = $1 ORDER BY c.id",
        cart_id,
    )
    passes = [_pass_view(p) for p in products if p["pass_type_id"] is not None]
    articles = [_article_view(p) for p in products if p["article_id"] is not None]
    currencies = {s["currency"] for s in sessions} | {p["currency"].strip() for p in products}
    expires = ms(row["expires_at"])
    return {
        "id": cart_id,
        "status": cart_status(row),
        "expires_at_ms": expires,
        "expires_in_ms": max(expires - now_ms(), 0),
        "cap_at_ms": ms(row["cap_at"]),
        "order_id": row["order_id"],
        "sessions": sessions,
        "passes": passes,
        "articles": articles,
        "total_cents": sum(s["subtotal_cents"] for s in sessions)
        + sum(p["price_cents"] for p in passes)
        + sum(a["price_cents"] * a["quantity"] for a in articles),
        "currency": currencies.pop() if len(currencies) == 1 else None,
    }


async def _session_view(catalog: Catalog, row: asyncpg.Record) -> dict[str, Any]:
    session = await catalog.session(row["session_id"])
    tariffs = await catalog.tariffs(session.id)
    ids: tuple[str, ...] = ()
    if session.seated and session.seat_plan_id is not None:
        ids = (await catalog.plan_seats(session.seat_plan_id)).ids
    lines = []
    currency = ""
    for line in json.loads(row["lines"]):
        tariff = tariffs.get(line["tariff"])
        price = tariff["price_cents"] if tariff else 0
        currency = tariff["currency"].strip() if tariff else currency
        lines.append(
            {
                "seat": ids[line["seat"]] if line["seat"] is not None else None,
                "tariff_id": line["tariff"],
                "tariff": tariff["name"] if tariff else "",
                "note": tariff["note"] if tariff else "",
                "price_cents": price,
            }
        )
    return {
        "session_id": session.id,
        "event_name": session.event_name,
        "starts_at": session.starts_at.isoformat(),
        "hold_token": row["hold_token"],
        "lines": lines,
        "subtotal_cents": sum(ln["price_cents"] for ln in lines),
        "currency": currency,
    }


def _pass_view(p: asyncpg.Record) -> dict[str, Any]:
    return {
        "line_id": p["id"],
        "pass_type_id": p["pass_type_id"],
        "name": p["name"],
        "holder_first_name": p["holder_first_name"],
        "holder_last_name": p["holder_last_name"],
        "has_photo": p["has_photo"],
        "price_cents": p["price"],
    }


def _article_view(p: asyncpg.Record) -> dict[str, Any]:
    return {
        "line_id": p["id"],
        "article_id": p["article_id"],
        "name": p["name"],
        "quantity": p["quantity"],
        "price_cents": p["price"],
    }


async def offers(pool: asyncpg.Pool) -> dict[str, Any]:
    """The passes and articles the organiser sells online: on sale, flagged ``sold_online``,
    a pass type whose period or sessions are not over, an article with units left (or not
    counted)."""
    async with connection(pool) as conn:
        types = await conn.fetch(
            "SELECT t.id, t.name, t.price_cents, t.currency, t.valid_from, t.valid_until,"
            " t.session_ids, t.max_sessions FROM pass_types t"
            " WHERE t.active AND t.sold_online AND coalesce(t.valid_until,"
            "  (SELECT max(ends_at) FROM sessions WHERE id = ANY(t.session_ids))) > now()"
            " ORDER BY t.name, t.id"
        )
        articles = await conn.fetch(
            "SELECT a.id, a.name, f.name AS family, a.price_cents, a.currency, a.stock"
            " FROM articles a JOIN article_families f ON f.id = a.family_id"
            " WHERE a.active AND a.sold_online AND (a.stock IS NULL OR a.stock > 0"
            "  OR a.allow_negative) ORDER BY f.name, a.name, a.id"
        )
    return {
        "pass_types": [
            {
                "id": t["id"],
                "name": t["name"],
                "price_cents": t["price_cents"],
                "currency": t["currency"].strip(),
                "valid_from": t["valid_from"].isoformat() if t["valid_from"] else None,
                "valid_until": t["valid_until"].isoformat() if t["valid_until"] else None,
                "session_ids": list(t["session_ids"]),
                "max_sessions": t["max_sessions"],
            }
            for t in types
        ],
        "articles": [
            {
                "id": a["id"],
                "name": a["name"],
                "family": a["family"],
                "price_cents": a["price_cents"],
                "currency": a["currency"],
                "stock": a["stock"],
            }
            for a in articles
        ],
    }
