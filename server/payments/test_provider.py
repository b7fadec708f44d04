"""The built-in TEST payment provider: no money moves, ever.

It plays both sides: the provider's book (``test_payments``) and its hosted page
(``/pay/test/{id}``, ``http_test_provider.py``) where a tester chooses success, failure or
abandonment. On that choice it signs a webhook (HMAC-SHA256 of the body with a secret
shared through Postgres, header ``Guichet-Test-Signature: sha256=<hex>``), posts it to
Guichet's webhook route over HTTP like a real provider would, and sends the buyer back.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from collections.abc import Mapping
from typing import Any

import asyncpg
import httpx

from server.payments.provider import Created, Event, Outcome
from server.platform.db import connection
from server.platform.errors import Conflict, Invalid, NotFound

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "guichet-test-signature"
CHOICES = {
    "success": Outcome.SUCCEEDED,
    "failure": Outcome.FAILED,
    "abandon": Outcome.ABANDONED,
}
MAX_EVENT_BYTES = 4096
DELIVERY_TIMEOUT_S = 5.0


async def load_test_secret(pool: asyncpg.Pool) -> bytes:
    """The webhook secret of the test provider, created once, shared through Postgres."""
    async with connection(pool) as conn:
        await conn.execute(
            "INSERT INTO settings (name, value) VALUES ('test_payment_secret', $1)"
            " ON CONFLICT DO NOTHING",
            secrets.token_urlsafe(32),
        )
        value: str = await conn.fetchval(
            "SELECT value FROM settings WHERE name = 'test_payment_secret'"
        )
    return value.encode()


def sign(secret: bytes, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, body, hashlib.sha256).hexdigest()


class TestProvider:
    """The test provider (``GUICHET_PAYMENT_PROVIDER=test``, the default)."""

    name = "test"
    __test__ = False  # not a pytest class

    def __init__(self, pool: asyncpg.Pool, secret: bytes) -> None:
        self.pool = pool
        self.secret = secret

    async def create_payment(
        self, amount_cents: int, currency: str, reference: str, return_url: str, webhook_url: str
    ) -> Created:
        ref = "tp_" + secrets.token_urlsafe(12)
        async with connection(self.pool) as conn:
            await conn.execute(
                "INSERT INTO test_payments (id, amount_cents, currency, reference, return_url,"
                " webhook_url) VALUES ($1, $2, $3, $4, $5, $6)",
                ref,
                amount_cents,
                currency,
                reference,
                return_url,
                webhook_url,
            )
        return Created(ref, f"/pay/test/{ref}")

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> Event:
        given = headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), sign(self.secret, body).encode()):
            raise Invalid("bad_signature", "the webhook's signature does not match")
        try:
            data = json.loads(body)
            return Event(str(data["id"]), str(data["payment"]), Outcome(data["outcome"]))
        except (ValueError, KeyError, TypeError) as exc:
            raise Invalid("bad_event", "the webhook's body is not an event") from exc

    async def status(self, ref: str) -> Outcome:
        async with connection(self.pool) as conn:
            status = await conn.fetchval("SELECT status FROM test_payments WHERE id = $1", ref)
        if status is None:
            raise NotFound("unknown_payment", "no such test payment")
        return Outcome.SUCCEEDED if status == "refunded" else Outcome(status)

    async def refund(self, ref: str, amount_cents: int, currency: str, key: str) -> str:
        """Once per ``key`` (a replay answers the first refund's id), never more than what
        is left of the payment; the payment is ``refunded`` once all of it is."""
        async with connection(self.pool) as conn, conn.transaction():
            pay = await conn.fetchrow(
                "SELECT status, amount_cents, refunded_cents, currency FROM test_payments"
                " WHERE id = $1 FOR UPDATE",
                ref,
            )
            if pay is None or pay["status"] not in ("succeeded", "refunded"):
                raise Conflict("not_refundable", "only a succeeded test payment is refunded")
            done = await conn.fetchval("SELECT id FROM test_refunds WHERE key = $1", key)
            if done is not None:
                return str(done)
            left = pay["amount_cents"] - pay["refunded_cents"]
            if currency != pay["currency"] or not 0 < amount_cents <= left:
                raise Conflict(
                    "not_refundable", f"{left} {pay['currency']} cents are left to refund"
                )
            refund = "tr_" + secrets.token_urlsafe(12)
            await conn.execute(
                "INSERT INTO test_refunds (id, key, payment, amount_cents) VALUES ($1, $2, $3, $4)",
                refund,
                key,
                ref,
                amount_cents,
            )
            await conn.execute(
                "UPDATE test_payments SET refunded_cents = refunded_cents + $2,"
                " status = CASE WHEN refunded_cents + $2 = amount_cents THEN 'refunded'"
                " ELSE status END WHERE id = $1",
                ref,
                amount_cents,
            )
        return refund

    async def page(self, ref: str) -> dict[str, Any]:
        """What the hosted page shows."""
        async with connection(self.pool) as conn:
            row = await conn.fetchrow("SELECT * FROM test_payments WHERE id = $1", ref)
        if row is None:
            raise NotFound("unknown_payment", "no such test payment")
        return dict(row)

    async def choose(self, ref: str, choice: str) -> str:
        """The tester's choice: recorded, signed webhook delivered; the return URL."""
        if choice not in CHOICES:
            raise Invalid("invalid_choice", "choose success, failure or abandon")
        outcome = CHOICES[choice]
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                "UPDATE test_payments SET status = $2 WHERE id = $1 AND status = 'open'"
                " RETURNING return_url, webhook_url",
                ref,
                outcome.value,
            )
            if row is None:
                page = await self.page(ref)
                return str(page["return_url"])  # decided already: back to the shop
        await self.deliver(row["webhook_url"], self.event(ref, outcome))
        return str(row["return_url"])

    def event(self, ref: str, outcome: Outcome) -> bytes:
        event = {"id": "te_" + secrets.token_urlsafe(12), "payment": ref, "outcome": outcome}
        return json.dumps(event).encode()

    async def deliver(self, url: str, body: bytes) -> bool:
        """Post a signed event; a failed delivery is logged (the buyer's return, which
        asks :meth:`status`, confirms the payment then)."""
        headers = {SIGNATURE_HEADER: sign(self.secret, body), "content-type": "application/json"}
        try:
            async with httpx.AsyncClient(timeout=DELIVERY_TIMEOUT_S) as client:
                response = await client.post(url, content=body, headers=headers)
        except httpx.HTTPError as exc:
            log.warning("test provider: webhook to %s failed: %s", url, exc)
            return False
        if response.status_code >= 300:
            log.warning("test provider: webhook to %s answered %s", url, response.status_code)
        return response.status_code < 300
