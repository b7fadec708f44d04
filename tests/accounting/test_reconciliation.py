"""Property: for any sequence of desk sales (two tariffs at two tax rates; cash, card or
split), refunds (whole or one ticket), article sales, wallet top-ups and cash operations at a
fresh register, the sales statement's totals per method and per tax rate equal the
accounting statement's and the Z report's, and all three equal a model of the steps."""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import STAFF_PASSWORD, ServerProcess

TARIFFS = ((1500, 550), (1000, 2000))
ARTICLE = (450, 1000)
HOW = st.sampled_from(["cash", "card", "split"])

sale = st.tuples(st.just("sale"), st.integers(1, 3), st.integers(0, 1), HOW)
refund = st.tuples(st.just("refund"), st.booleans(), st.sampled_from(["cash", "card"]), st.none())
article = st.tuples(st.just("article"), st.integers(1, 4), HOW, st.none())
topup = st.tuples(
    st.just("topup"), st.integers(100, 5000), st.sampled_from(["cash", "card"]), st.none()
)
operation = st.tuples(
    st.sampled_from(["credit", "debit", "credit_error", "debit_error"]),
    st.integers(1, 3000),
    st.none(),
    st.none(),
)


def payments(total: int, how: str) -> list[dict[str, Any]]:
    if how == "cash":
        return [{"method": "cash", "amount_cents": total, "given_cents": total + 50}]
    if how == "card":
        return [{"method": "card", "amount_cents": total}]
    part = total // 3
    return [
        {"method": "cash", "amount_cents": part},
        {"method": "card", "amount_cents": total - part},
    ]


class Model:
    """What the statements should say: per method and per tax rate, in cents."""

    def __init__(self) -> None:
        self.methods: Counter[str] = Counter()
        self.rates: Counter[int] = Counter()
        self.topups: Counter[str] = Counter()

    def paid(self, pays: list[dict[str, Any]], sign: int = 1) -> None:
        for p in pays:
            self.methods[p["method"]] += sign * p["amount_cents"]


class Desk:
    """A cashier at a fresh register of its own point of sale, a session, an article, and a
    pass whose wallet takes the top-ups."""

    def __init__(self, server: ServerProcess, admin: httpx.Client) -> None:
        name = f"rec-{uuid.uuid4().hex[:8]}"
        user = {
            "username": name,
            "password": STAFF_PASSWORD,
            "roles": ["pos", "refund", "wallet_manager"],
        }
        assert admin.post("/api/users", json=user).status_code == 201
        token = admin.post("/api/auth/login", json=user).json()["token"]
        self.http = httpx.Client(
            base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30
        )
        venue = admin.post("/api/venues", json={"name": "Rec"}).json()["id"]
        room = admin.post(f"/api/venues/{venue}/rooms", json={"name": "R"}).json()["id"]
        session = {
            "room_id": room,
            "event_name": "Reconciliation",
            "seated": False,
            "capacity": 10_000,
            "starts_at": "2030-01-01T20:00:00+00:00",
            "ends_at": "2030-01-01T22:00:00+00:00",
            "tariffs": [
                {"name": f"T{i}", "price_cents": p, "tax_rate_bp": r}
                for i, (p, r) in enumerate(TARIFFS)
            ],
        }
        detail = admin.post("/api/sessions", json=session).json()
        self.session_id, self.tariffs = detail["id"], [t["id"] for t in detail["tariffs"]]
        family = admin.post("/api/article-families", json={"name": name}).json()["id"]
        item = {
            "family_id": family,
            "name": "Cup",
            "price_cents": ARTICLE[0],
            "tax_rate_bp": ARTICLE[1],
        }
        self.article_id = admin.post("/api/articles", json=item).json()["id"]
        pos = admin.post("/api/points-of-sale", json={"name": name, "kind": "desk"}).json()
        register = {"point_of_sale_id": pos["id"], "name": "Till"}
        self.register_id = admin.post("/api/registers", json=register).json()["id"]
        now = datetime.now(UTC)
        holder = {
            "holder_name": "Holder",
            "all_sessions": True,
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=30)).isoformat(),
        }
        pass_id = admin.post("/api/passes", json=holder).json()["id"]
        self.code = admin.get(f"/api/passes/{pass_id}/code").text

    def post(self, path: str, body: dict[str, Any]) -> Any:
        r = self.http.post(path, json=body)
        assert r.status_code == 201, r.text
        return r.json()

    def sell(self, rs: int, n: int, tariff: int, how: str, model: Model) -> dict[str, Any]:
        price, rate = TARIFFS[tariff]
        hold = self.http.post(f"/api/sessions/{self.session_id}/holds", json={"quantity": n})
        pays = payments(n * price, how)
        order = self.post(
            f"/api/sessions/{self.session_id}/orders",
            {
                "hold_token": hold.json()["token"],
                "idempotency_key": uuid.uuid4().hex,
                "items": [{"tariff_id": self.tariffs[tariff], "quantity": n}],
                "register_session_id": rs,
                "payments": pays,
            },
        )
        model.paid(pays)
        model.rates[rate] += n * price
        order["price"], order["rate"] = price, rate
        return order


def statement(desk: Desk, admin: httpx.Client, which: str) -> Any:
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    r = admin.get(f"/api/statements/{which}", params={**span, "register_id": desk.register_id})
    assert r.status_code == 200, r.text
    return r.json()


@pytest.fixture(scope="module")
def admin_client(server: ServerProcess, admin_token: str) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        yield http


def run(desk: Desk, rs: int, steps: list[tuple[Any, ...]], model: Model) -> None:
    sales: list[dict[str, Any]] = []
    for kind, a, b, c in steps:
        if kind == "sale":
            sales.append(desk.sell(rs, a, b, c, model))
        elif kind == "refund" and sales:
            order = sales.pop()
            chosen = order["tickets"] if a else order["tickets"][:1]
            body: dict[str, Any] = {"register_session_id": rs, "method": b}
            if not a:
                body["ticket_ids"] = [chosen[0]["id"]]
                if len(order["tickets"]) > 1:
                    sales.append({**order, "tickets": order["tickets"][1:]})
            desk.post(f"/api/journal/{order['receipt']['journal_id']}/refund", body)
            model.methods[b] -= order["price"] * len(chosen)
            model.rates[order["rate"]] -= order["price"] * len(chosen)
        elif kind == "article":
            pays = payments(a * ARTICLE[0], b)
            desk.post(
                f"/api/register-sessions/{rs}/sales",
                {
                    "idempotency_key": uuid.uuid4().hex,
                    "payments": pays,
                    "items": [{"article_id": desk.article_id, "quantity": a}],
                },
            )
            model.paid(pays)
            model.rates[ARTICLE[1]] += a * ARTICLE[0]
        elif kind == "topup":
            desk.post(
                "/api/wallets/top-ups",
                {
                    "idempotency_key": uuid.uuid4().hex,
                    "code": desk.code,
                    "amount_cents": a,
                    "method": b,
                    "register_session_id": rs,
                },
            )
            model.topups[b] += a
        elif kind != "refund":
            op = {"kind": kind, "amount_cents": a, "reason": "property"}
            desk.post(f"/api/register-sessions/{rs}/operations", op)


def nonzero(counter: Counter[Any]) -> dict[Any, int]:
    return {k: v for k, v in counter.items() if v}


@settings(
    max_examples=10,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(steps=st.lists(st.one_of(sale, refund, article, topup, operation), max_size=8))
def test_sales_statement_accounting_statement_and_z_report_agree(
    server: ServerProcess, admin_client: httpx.Client, steps: list[tuple[Any, ...]]
) -> None:
    desk = Desk(server, admin_client)
    try:
        rs = desk.post(f"/api/registers/{desk.register_id}/sessions", {"counted": {"500": 2}})["id"]
        model = Model()
        run(desk, rs, steps, model)
        r = desk.http.post(f"/api/register-sessions/{rs}/close", json={"counted": {}})
        assert r.status_code == 200, r.text
        z = r.json()["report"]
    finally:
        desk.http.close()
    sales = statement(desk, admin_client, "sales")["totals"]
    accounting = statement(desk, admin_client, "accounting")

    by_method = Counter({m["method"]: m["amount_cents"] for m in sales["by_method"]})
    z_methods = Counter(
        {
            "cash": z["cash_sales_cents"] - z["cash_refunds_cents"],
            "card": z["card_sales_cents"] - z["card_refunds_cents"],
        }
    )
    days, topups = Counter[str](), Counter[str]()
    for d in accounting["by_day"]:
        days[d["method"]] += d["sales_cents"]
        topups[d["method"]] += d["topups_cents"]
    assert nonzero(by_method) == nonzero(z_methods) == nonzero(days) == nonzero(model.methods)
    assert nonzero(topups) == nonzero(model.topups)

    by_rate = Counter({r["tax_rate_bp"]: r["gross_cents"] for r in sales["by_rate"]})
    z_rates = Counter({r["tax_rate_bp"]: r["gross_cents"] for r in z["tax_by_rate"]})
    z_rates[0] -= sum(model.topups.values())  # the top-ups' untaxed lines
    items = Counter[int]()
    for i in accounting["by_item"]:
        items[i["tax_rate_bp"]] += i["gross_cents"]
    assert nonzero(by_rate) == nonzero(z_rates) == nonzero(items) == nonzero(model.rates)
    tax = {r["tax_rate_bp"]: r["tax_cents"] for r in sales["by_rate"] if r["gross_cents"]}
    assert tax == {
        r["tax_rate_bp"]: r["tax_cents"] for r in z["tax_by_rate"] if r["tax_rate_bp"] in tax
    }
    assert accounting["by_rate"] == sales["by_rate"]
