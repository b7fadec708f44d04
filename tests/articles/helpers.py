"""Helpers of the article tests: a point of sale with a register, articles, sales."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg

from tests import support
from tests.support import Api


async def point_with_register(admin: Api, name: str = "Till 1") -> tuple[int, int]:
    """A new desk point of sale and a register at it: (point of sale id, register id)."""
    desk = {"name": f"Bar {uuid.uuid4().hex[:8]}", "kind": "desk"}
    r = await admin.http.post("/api/points-of-sale", json=desk)
    assert r.status_code == 201, r.text
    point = r.json()["id"]
    return point, await register_at(admin, point, name)


async def register_at(admin: Api, point: int, name: str) -> int:
    r = await admin.http.post(
        "/api/registers", json={"point_of_sale_id": point, "name": name, "currency": "EUR"}
    )
    assert r.status_code == 201, r.text
    register_id: int = r.json()["id"]
    return register_id


async def family(admin: Api) -> int:
    r = await admin.http.post("/api/article-families", json={"name": f"F {uuid.uuid4().hex}"})
    assert r.status_code == 201, r.text
    family_id: int = r.json()["id"]
    return family_id


async def article(admin: Api, **fields: Any) -> dict[str, Any]:
    body = {
        "family_id": await family(admin),
        "name": "Bière pression",
        "price_cents": 500,
        "tax_rate_bp": 2000,
        **fields,
    }
    r = await admin.http.post("/api/articles", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


async def sell(
    api: Api,
    register_session_id: int,
    items: list[tuple[int, int]],
    total: int,
    key: str | None = None,
    method: str = "cash",
) -> Any:
    """Sell ``(article id, quantity)`` pairs, paid ``total`` in one payment."""
    body = {
        "idempotency_key": key or uuid.uuid4().hex,
        "items": [{"article_id": a, "quantity": q} for a, q in items],
        "payments": [{"method": method, "amount_cents": total}],
    }
    return await api.http.post(f"/api/register-sessions/{register_session_id}/sales", json=body)


async def stock_of(article_id: int) -> int | None:
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        stock: int | None = await conn.fetchval(
            "SELECT stock FROM articles WHERE id = $1", article_id
        )
        return stock
    finally:
        await conn.close()
