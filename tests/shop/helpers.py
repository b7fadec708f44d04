"""Helpers of the cart tests: a cart with seats of sessions, a pass and an article."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.articles.helpers import article
from tests.payments.support import db
from tests.support import Api, SessionInfo


async def new_cart(api: Api, hold_seconds: int | None = None) -> dict[str, Any]:
    body = {"hold_seconds": hold_seconds} if hold_seconds else {}
    r = await api.http.post("/api/carts", json=body)
    assert r.status_code == 201, r.text
    cart: dict[str, Any] = r.json()
    return cart


async def put_seats(
    api: Api, cart: dict[str, Any], s: SessionInfo, seats: list[str], hold_seconds: int = 0
) -> dict[str, Any]:
    """Hold ``seats`` of ``s`` (the shop's hold route) and put them in the cart."""
    extra: dict[str, Any] = {"hold_seconds": hold_seconds} if hold_seconds else {}
    r = await api.hold(s.id, seats, **extra)
    assert r.status_code == 200, r.text
    r = await api.http.put(
        f"/api/carts/{cart['id']}/sessions/{s.id}",
        json={
            "hold_token": r.json()["token"],
            "items": [{"seat": seat, "tariff_id": s.tariff_ids[0]} for seat in seats],
        },
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def online_pass_type(admin: Api, price_cents: int = 4500) -> dict[str, Any]:
    now = datetime.now(UTC)
    r = await admin.http.post(
        "/api/pass-types",
        json={
            "name": f"Pass {uuid.uuid4().hex[:6]}",
            "price_cents": price_cents,
            "tax_rate_bp": 550,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
            "sold_online": True,
        },
    )
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def online_article(admin: Api, stock: int, price_cents: int = 500) -> dict[str, Any]:
    return await article(
        admin, name="Programme", stock=stock, price_cents=price_cents, sold_online=True
    )


async def add_pass(api: Api, cart: dict[str, Any], type_id: int) -> dict[str, Any]:
    r = await api.http.post(
        f"/api/carts/{cart['id']}/passes",
        json={"pass_type_id": type_id, "holder_first_name": "Ada", "holder_last_name": "King"},
    )
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def add_article(api: Api, cart: dict[str, Any], article_id: int, n: int) -> dict[str, Any]:
    r = await api.http.put(f"/api/carts/{cart['id']}/articles/{article_id}", json={"quantity": n})
    assert r.status_code == 200, r.text
    out: dict[str, Any] = r.json()
    return out


async def checkout(
    api: Api, cart: dict[str, Any], key: str | None = None, email: str = "grace@example.org"
) -> Any:
    return await api.http.post(
        f"/api/carts/{cart['id']}/checkout",
        json={
            "idempotency_key": key or uuid.uuid4().hex,
            "buyer": {"name": "Grace Hopper", "email": email},
        },
    )


async def stock(article_id: int) -> int:
    conn = await db()
    try:
        value: int = await conn.fetchval("SELECT stock FROM articles WHERE id = $1", article_id)
    finally:
        await conn.close()
    return value


async def products_of(order_id: int) -> list[dict[str, Any]]:
    conn = await db()
    try:
        rows = await conn.fetch(
            "SELECT * FROM order_products WHERE order_id = $1 ORDER BY id", order_id
        )
    finally:
        await conn.close()
    return [dict(r) for r in rows]
