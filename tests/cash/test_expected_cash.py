"""Property: for any sequence of desk sales, refunds and cash operations, the Z report's
expected cash is the float plus cash sales, minus cash refunds, plus or minus the cash
operations; the difference is what was counted less that; and the chain verifies."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.cash.helpers import verify
from tests.support import STAFF_PASSWORD, ServerProcess

PRICE = 1500
SIGN = {"credit": 1, "debit": -1, "credit_error": -1, "debit_error": 1}

sale = st.tuples(st.just("sale"), st.integers(1, 3), st.sampled_from(["cash", "card", "split"]))
refund = st.tuples(st.just("refund"), st.booleans(), st.sampled_from(["cash", "card"]))
operation = st.tuples(st.sampled_from(sorted(SIGN)), st.integers(1, 5000), st.just(""))
counts = st.dictionaries(
    st.sampled_from(["5000", "2000", "500", "100", "5", "1"]), st.integers(0, 20)
)


class Desk:
    """A cashier at a fresh register, with a general-admission session to sell."""

    def __init__(self, server: ServerProcess, admin: httpx.Client) -> None:
        name = f"prop-{uuid.uuid4().hex[:8]}"
        user = {"username": name, "password": STAFF_PASSWORD, "roles": ["pos", "refund"]}
        assert admin.post("/api/users", json=user).status_code == 201
        token = admin.post("/api/auth/login", json=user).json()["token"]
        self.http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        room = admin.post(
            f"/api/venues/{admin.post('/api/venues', json={'name': 'P'}).json()['id']}/rooms",
            json={"name": "R"},
        ).json()["id"]
        session = {
            "room_id": room,
            "event_name": "Property",
            "starts_at": "2030-01-01T20:00:00+00:00",
            "ends_at": "2030-01-01T22:00:00+00:00",
            "seated": False,
            "capacity": 10_000,
            "tariffs": [{"name": "Full", "price_cents": PRICE, "currency": "EUR"}],
        }
        detail = admin.post("/api/sessions", json=session).json()
        self.session_id, self.tariff_id = detail["id"], detail["tariffs"][0]["id"]
        pos = admin.post("/api/points-of-sale", json={"name": name, "kind": "desk"}).json()
        register = {"point_of_sale_id": pos["id"], "name": "Till"}
        self.register_id = admin.post("/api/registers", json=register).json()["id"]

    def sell(self, quantity: int, how: str, register_session_id: int) -> dict[str, Any]:
        total = quantity * PRICE
        token = self.http.post(
            f"/api/sessions/{self.session_id}/holds", json={"quantity": quantity}
        ).json()["token"]
        payments = {
            "cash": [{"method": "cash", "amount_cents": total, "given_cents": total + 35}],
            "card": [{"method": "card", "amount_cents": total}],
            "split": [
                {"method": "card", "amount_cents": total - 700},
                {"method": "cash", "amount_cents": 700},
            ],
        }[how]
        body = {
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"tariff_id": self.tariff_id, "quantity": quantity}],
            "register_session_id": register_session_id,
            "payments": payments,
        }
        r = self.http.post(f"/api/sessions/{self.session_id}/orders", json=body)
        assert r.status_code == 201, r.text
        order: dict[str, Any] = r.json()
        return order


@pytest.fixture(scope="module")
def admin_client(server: ServerProcess, admin_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    opening=counts,
    steps=st.lists(st.one_of(sale, refund, operation), max_size=8),
    closing=counts,
)
def test_the_z_report_expects_float_plus_cash_sales_minus_cash_refunds_plus_operations(
    server: ServerProcess,
    admin_client: httpx.Client,
    opening: dict[str, int],
    steps: list[tuple[str, Any, Any]],
    closing: dict[str, int],
) -> None:
    desk = Desk(server, admin_client)
    try:
        rs = desk.http.post(
            f"/api/registers/{desk.register_id}/sessions", json={"counted": opening}
        ).json()["id"]
        model = sum(int(d) * n for d, n in opening.items())
        sales: list[dict[str, Any]] = []  # orders with tickets not yet refunded
        for kind, a, b in steps:
            if kind == "sale":
                order = desk.sell(a, b, rs)
                sales.append(order)
                total = a * PRICE
                model += {"cash": total, "card": 0, "split": 700}[b]
            elif kind == "refund":
                if not sales:
                    continue
                order = sales.pop()
                tickets = [t["id"] for t in order["tickets"]]
                chosen = tickets if a else tickets[:1]
                body = {"register_session_id": rs, "method": b}
                if not a:
                    body["ticket_ids"] = chosen
                    if len(tickets) > 1:
                        order["tickets"] = order["tickets"][1:]
                        sales.append(order)
                r = desk.http.post(
                    f"/api/journal/{order['receipt']['journal_id']}/refund", json=body
                )
                assert r.status_code == 201, r.text
                assert r.json()["total_cents"] == -PRICE * len(chosen)
                model -= PRICE * len(chosen) if b == "cash" else 0
            else:
                op = {"kind": kind, "amount_cents": a, "reason": "property"}
                r = desk.http.post(f"/api/register-sessions/{rs}/operations", json=op)
                assert r.status_code == 201, r.text
                model += SIGN[kind] * a
        z = desk.http.post(f"/api/register-sessions/{rs}/close", json={"counted": closing})
        assert z.status_code == 200, z.text
        counted = sum(int(d) * n for d, n in closing.items())
        assert z.json()["expected_cents"] == model
        assert z.json()["difference_cents"] == counted - model
        assert asyncio.run(verify(desk.register_id)) is None
    finally:
        desk.http.close()
