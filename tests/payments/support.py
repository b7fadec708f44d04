"""Helpers of the payment tests: a pending order, the test provider's page, signed
webhooks, what Postgres and Redis say."""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from typing import Any

import asyncpg
import httpx

from tests import support
from tests.support import Api, SessionInfo

SIGNATURE = "guichet-test-signature"


async def db() -> asyncpg.Connection:
    return await asyncpg.connect(support.testing_database_url())


async def pending_order(
    buyer: Api,
    s: SessionInfo,
    seats: list[str],
    email: str | None = None,
    hold_seconds: int | None = None,
) -> dict[str, Any]:
    """Hold ``seats`` and order them at the full tariff: the pending order."""
    extra: dict[str, Any] = {"hold_seconds": hold_seconds} if hold_seconds else {}
    r = await buyer.hold(s.id, seats, **extra)
    assert r.status_code == 200, r.text
    r = await buyer.http.post(
        f"/api/sessions/{s.id}/orders",
        json={
            "hold_token": r.json()["token"],
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"seat": seat, "tariff_id": s.tariff_ids[0]} for seat in seats],
            "buyer": {"name": "Grace Hopper", "email": email},
        },
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    assert order["status"] == "pending" and order["tickets"] == []
    assert order["payment"]["status"] == "open"
    return order


def payment_ref(order: dict[str, Any]) -> str:
    return str(order["payment"]["redirect_url"].rsplit("/", 1)[1])


async def choose(buyer: Api, order: dict[str, Any], choice: str) -> httpx.Response:
    """The tester's choice on the test provider's hosted page."""
    r = await buyer.http.post(order["payment"]["redirect_url"], data={"choice": choice})
    assert r.status_code == 303, r.text
    return r


async def webhook(
    buyer: Api, ref: str, outcome: str, event_id: str | None = None, secret: bytes | None = None
) -> httpx.Response:
    """A webhook as the test provider signs it (or with another ``secret``)."""
    if secret is None:
        conn = await db()
        try:
            value = await conn.fetchval(
                "SELECT value FROM settings WHERE name = 'test_payment_secret'"
            )
        finally:
            await conn.close()
        secret = value.encode()
    body = json.dumps(
        {"id": event_id or uuid.uuid4().hex, "payment": ref, "outcome": outcome}
    ).encode()
    signature = "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()
    return await buyer.http.post(
        "/api/payments/test/webhook",
        content=body,
        headers={SIGNATURE: signature, "content-type": "application/json"},
    )


async def order_page(buyer: Api, order: dict[str, Any]) -> dict[str, Any]:
    r = await buyer.http.get(f"/api/orders/by-link/{order['link']}")
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def payment_row(order_id: int) -> dict[str, Any]:
    conn = await db()
    try:
        row = await conn.fetchrow(
            "SELECT p.status, p.refund_ref, t.status AS provider_status FROM payments p"
            " JOIN test_payments t ON t.id = p.provider_ref WHERE p.order_id = $1",
            order_id,
        )
    finally:
        await conn.close()
    assert row is not None
    return dict(row)


async def tickets_of(order_id: int) -> list[dict[str, Any]]:
    conn = await db()
    try:
        rows = await conn.fetch("SELECT * FROM tickets WHERE order_id = $1", order_id)
    finally:
        await conn.close()
    return [dict(r) for r in rows]
