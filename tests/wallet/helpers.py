"""Helpers of the wallet tests: a pass to carry a wallet, a bar, top-ups and debits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.support import Api


async def pass_code(admin: Api, name: str = "Camille Martin") -> tuple[int, str]:
    """A new pass (valid a year) and its code: the wallet's key."""
    now = datetime.now(UTC)
    r = await admin.http.post(
        "/api/passes",
        json={
            "holder_name": name,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=365)).isoformat(),
            "all_sessions": True,
        },
    )
    assert r.status_code == 201, r.text
    pass_id: int = r.json()["id"]
    code = await admin.http.get(f"/api/passes/{pass_id}/code")
    assert code.status_code == 200, code.text
    return pass_id, code.text


async def new_bar(admin: Api, currency: str = "EUR") -> tuple[int, int]:
    """A bar point of sale and its register: (point of sale id, register id)."""
    r = await admin.http.post(
        "/api/points-of-sale", json={"name": f"Bar {uuid.uuid4().hex[:8]}", "kind": "bar"}
    )
    assert r.status_code == 201, r.text
    point = r.json()["id"]
    r = await admin.http.post(
        "/api/registers", json={"point_of_sale_id": point, "name": "Bar", "currency": currency}
    )
    assert r.status_code == 201, r.text
    register: int = r.json()["id"]
    return point, register


async def top_up(
    api: Api, code: str, amount: int, register_session_id: int, **extra: Any
) -> httpx.Response:
    body = {
        "idempotency_key": extra.pop("key", None) or uuid.uuid4().hex,
        "code": code,
        "amount_cents": amount,
        "method": "cash",
        "register_session_id": register_session_id,
        **extra,
    }
    return await api.http.post("/api/wallets/top-ups", json=body)


async def debit(
    api: Api, code: str, register_id: int, amount: int | None = None, **extra: Any
) -> httpx.Response:
    body: dict[str, Any] = {
        "idempotency_key": extra.pop("key", None) or uuid.uuid4().hex,
        "code": code,
        "register_id": register_id,
        **({"amount_cents": amount} if amount is not None else {}),
        **extra,
    }
    return await api.http.post("/api/wallets/debits", json=body)


async def balance(api: Api, code: str) -> int:
    r = await api.http.post("/api/wallet", json={"code": code})
    assert r.status_code == 200, r.text
    value: int = r.json()["balance_cents"]
    return value
