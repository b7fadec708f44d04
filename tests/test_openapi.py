"""The HTTP contract: ``/openapi.json`` is valid OpenAPI 3.1, built from the declarations
next to the handlers (``server/web/api.py``), and the real server keeps it.

Two tests hold the server to it. A scripted visit through every operation (a venue, a plan,
sessions, holds, orders, codes, scans, passes, devices…) checks each answer's status and
body against the document. Then schemathesis generates requests for each operation, signed
in as admin: valid ones and, where there is an input, invalid ones; each both with random
ids and with the visit's (path, query, and a body's room, hold token, seats and tariff), so
that generated bodies reach the handlers' rules. No answer may be a server error, have a
status the document does not list, or a body that does not match its schema.

The generation is bounded (``MAX_EXAMPLES`` a kind and operation, derandomized, about half a
minute in all) and runs against the session's server and database. No operation is skipped;
two are held back from harming the other tests: ``POST /api/users`` never resets the
``admin`` the other tests sign in as, and operations without any input (rotating the
signing key makes a key each time) run a few times only. Not checked here: who may call
(every request is the admin's; ``tests/identity/test_role_matrix.py`` checks that, against
the declarations, ``x-permission``).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    response_schema_conformance,
    status_code_conformance,
)

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from server.app import OPERATIONS
from tests.support import ServerProcess

CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]
MAX_EXAMPLES = 8
"""Generated requests per operation and kind (valid or invalid; random ids or the visit's)."""
LABELS = [f"{op.method} {op.openapi_path}" for op in OPERATIONS]


def test_the_document_is_valid_openapi(server: ServerProcess) -> None:
    document = httpx.get(server.url + "/openapi.json").json()
    validate(document)
    assert document["openapi"] == "3.1.0"
    operations = [f"{m.upper()} {p}" for p, ms in document["paths"].items() for m in ms]
    assert sorted(operations) == sorted(LABELS)


def test_every_operation_says_who_may_call_and_what_it_refuses(server: ServerProcess) -> None:
    document = httpx.get(server.url + "/openapi.json").json()
    for path, methods in document["paths"].items():
        for method, op in methods.items():
            label = f"{method.upper()} {path}"
            statuses = set(op["responses"])
            assert "401" in statuses, label  # any token sent is checked
            if op["x-permission"] == "api_key":  # the website API (docs/website-api.md)
                assert op["security"] == [{"apiKey": []}, {"apiKeyQuery": []}], label
                assert {"403", "429"} <= statuses, label
            elif op["x-permission"] != "public":
                assert op["security"] == [{"bearer": []}, {"session": []}], label
                assert "403" in statuses, label
            if op.get("parameters") or op.get("requestBody"):
                assert "400" in statuses, label
            if op.get("requestBody"):
                assert "413" in statuses, label
            if "{" in path:
                assert "404" in statuses, label
            if path not in ("/healthz", "/api/auth/me"):
                assert "503" in statuses, label


# -- a scripted visit through every operation ---------------------------------------------


@pytest.fixture(scope="module")
def schema(server: ServerProcess) -> Any:
    config = schemathesis.Config.from_dict(
        {
            "seed": 7,
            "generation": {
                "deterministic": True,
                "database": "none",
                "with-security-parameters": False,  # the admin token is always sent
            },
        }
    )
    return schemathesis.openapi.from_url(server.url + "/openapi.json", config=config)


@dataclass
class Visit:
    """An admin client that checks each answer against the document, and the ids it made."""

    http: httpx.Client
    schema: Any
    ids: dict[str, Any] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def call(
        self, method: str, path: str, status: int, at: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        """``path`` as the document has it; its parameters are the ids, or ``at``."""
        response = self.http.request(method, path.format(**{**self.ids, **(at or {})}), **kwargs)
        assert response.status_code == status, (method, path, response.text)
        operation = self.schema[path][method]
        assert str(status) in operation.definition.raw["responses"], (method, path, status)
        operation.validate_response(response)
        self.seen.add(f"{method} {path}")
        return response

    def json(self, method: str, path: str, status: int = 200, **kwargs: Any) -> Any:
        return self.call(method, path, status, **kwargs).json()

    def refresh(self, n: int) -> None:
        """Sales open and a live hold of a seat nobody used (``40 + n``, or the next free
        one: a generated best-available request may have taken it): generated requests may
        have closed sales or bought or released the previous hold."""
        session = f"/api/sessions/{self.ids['session_id']}"
        self.http.patch(session, json={"sales_open": True}).raise_for_status()
        for seat in self.ids["seats"][40 + n : -5]:
            hold = self.http.post(session + "/holds", json={"seats": [seat]})
            if hold.status_code == 200:
                break
        assert hold.status_code == 200, (n, hold.text)
        self.ids["held"] = [seat]
        self.ids["token"] = hold.json()["token"]


def _catalogue(v: Visit) -> None:
    v.ids["venue_id"] = v.json("POST", "/api/venues", 201, json={"name": "Contract"})["id"]
    room = v.json("POST", "/api/venues/{venue_id}/rooms", 201, json={"name": "Hall"})
    v.ids["room_id"] = room["id"]
    plan = grid(1000, 25)  # generated best-available holds take many seats
    v.ids["seats"] = [s.id for s in plan.seats]
    document = plan_to_document(plan)
    plan_id = v.json("PUT", "/api/rooms/{room_id}/seat-plan", 201, json=document)["id"]
    v.ids["plan_id"] = plan_id
    assert v.json("GET", "/api/seat-plans/{plan_id}") == document
    start = datetime.now(UTC) + timedelta(minutes=30)
    session = {
        "room_id": v.ids["room_id"],
        "event_name": "Contract",
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=2)).isoformat(),
        "seated": True,
        "tariffs": [{"name": "Full", "price_cents": 1500}],
        "contingents": [{"name": "Pass", "capacity": 0, "seat_ids": v.ids["seats"][-2:]}],
        "blocked_seats": [v.ids["seats"][-3]],
    }
    detail = v.json("POST", "/api/sessions", 201, json=session)
    v.ids["session_id"], v.ids["tariff_id"] = detail["id"], detail["tariffs"][0]["id"]
    ga = {**session, "seated": False, "capacity": 50, "contingents": [], "blocked_seats": []}
    v.ids["ga_session_id"] = v.json("POST", "/api/sessions", 201, json=ga)["id"]
    v.json("GET", "/api/sessions", params={"all": "1", "limit": 500})
    v.json("GET", "/api/venues", params={"limit": 2})
    v.json("GET", "/api/sessions/{session_id}")
    v.json("GET", "/api/sessions/{session_id}/seat-map")
    v.json("GET", "/api/sessions/{session_id}/fill")
    v.json("PATCH", "/api/sessions/{session_id}", json={"sales_open": True})
    tariff = {"name": "Reduced", "price_cents": 900, "currency": "EUR"}
    v.json("POST", "/api/sessions/{session_id}/tariffs", 201, json=tariff)
    groups = {"contingents": [{"name": "Pass", "capacity": 0, "seat_ids": v.ids["seats"][-2:]}]}
    v.json("PUT", "/api/sessions/{session_id}/contingents", json=groups)
    block = {"seats": [v.ids["seats"][-4]], "blocked": True}
    v.json("POST", "/api/sessions/{session_id}/blocked-seats", json=block)
    preview = v.json("POST", "/api/seat-plans/preview", json=document)
    assert preview["document"] == document and preview["format"] == "guichet"
    v.json(
        "PATCH",
        "/api/tariffs/{tariff_id}",
        json={"note": "", "categories": ["Premium", "Standard"]},
    )
    grid_body = {
        "session_ids": [v.ids["session_id"], v.ids["ga_session_id"]],
        "tariffs": [{"name": "Grid", "price_cents": 700, "tax_rate_bp": 550}],
    }
    v.json("POST", "/api/tariff-grid", 201, json=grid_body)


def _sales(v: Visit) -> None:
    seats = v.ids["seats"][:4]
    hold = v.json("POST", "/api/sessions/{session_id}/holds", json={"seats": seats[:3]})
    v.ids["token"] = hold["token"]
    v.json("POST", "/api/sessions/{session_id}/holds", json={"seats": seats[3:], **hold})
    v.json("GET", "/api/sessions/{session_id}/holds/{token}")
    v.json("POST", "/api/sessions/{session_id}/holds/best", json={"quantity": 2})
    v.json("POST", "/api/sessions/{session_id}/holds/{token}/extend")
    v.json("POST", "/api/sessions/{session_id}/holds/{token}/release", json={"seats": seats[3:]})
    items = [{"seat": s, "tariff_id": v.ids["tariff_id"]} for s in seats[:3]]
    order = {"hold_token": v.ids["token"], "idempotency_key": uuid.uuid4().hex, "items": items}
    tickets = v.json("POST", "/api/sessions/{session_id}/orders", 201, json=order)["tickets"]
    v.json("POST", "/api/sessions/{session_id}/orders", 200, json=order)  # replayed
    v.json("GET", "/api/sessions/{session_id}/tickets", params={"limit": 2})
    v.ids["ticket_id"], v.ids["refund_id"] = tickets[0]["id"], tickets[1]["id"]
    ga = {"session_id": v.ids["ga_session_id"]}
    other = v.json("POST", "/api/sessions/{session_id}/holds", at=ga, json={"quantity": 2})
    ga["token"] = other["token"]
    v.call("DELETE", "/api/sessions/{session_id}/holds/{token}", 200, at=ga)


def _door(v: Visit) -> None:
    code = v.call("GET", "/api/tickets/{ticket_id}/code", 200).text
    for fmt in ("svg", "png", "pdf", "json"):
        v.call("GET", "/api/tickets/{ticket_id}/code", 200, params={"format": fmt})
    scan = {"code": code, "nonce": uuid.uuid4().hex, "door": "north"}
    assert v.json("POST", "/api/scan", json=scan)["result"] == "valid"
    again = v.json("POST", "/api/scan", json={**scan, "nonce": uuid.uuid4().hex})
    assert again["reason"] == "already_entered"
    late = {**scan, "nonce": uuid.uuid4().hex, "scanned_at": datetime.now(UTC).isoformat()}
    v.json("POST", "/api/scan/batch", json={"device": "tab-1", "scans": [late]})
    v.json("POST", "/api/tickets/{ticket_id}/refund", at={"ticket_id": v.ids["refund_id"]})
    v.json("GET", "/api/door/keys", params={"session_id": v.ids["session_id"]})
    v.json("GET", "/api/door/conflicts", params={"session_id": v.ids["session_id"]})
    v.json("GET", "/api/sessions/{session_id}/entries")
    v.json("GET", "/api/sessions/{session_id}/door-settings")
    v.json("PUT", "/api/sessions/{session_id}/door-settings", json={"reentry_allowed": False})
    preview = v.json("GET", "/api/sessions/{session_id}/unscanned-reservations")
    release = {"older_than_minutes": 15, "expected_count": preview["count"]}
    v.json("POST", "/api/sessions/{session_id}/release-unscanned", json=release)
    keys = v.json("GET", "/api/door/signing-keys")["keys"]
    v.json("POST", "/api/door/signing-keys/rotate", 201)
    v.ids["key_id"] = max(k["key_id"] for k in keys) + 1
    v.call("POST", "/api/door/signing-keys/{key_id}/retire", 409)  # on standby


def _passes_and_devices(v: Visit) -> None:
    now = datetime.now(UTC)
    new_pass = {
        "holder_name": "Camille",
        "photo": "https://example.org/c.jpg",
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
        "session_ids": [v.ids["session_id"]],
    }
    v.ids["pass_id"] = v.json("POST", "/api/passes", 201, json=new_pass)["id"]
    code = v.call("GET", "/api/passes/{pass_id}/code", 200).text
    v.call("GET", "/api/passes/{pass_id}/code", 200, params={"format": "svg"})
    scan = {"code": code, "nonce": uuid.uuid4().hex, "door": "north"}
    admitted = v.json("POST", "/api/scan", json={**scan, "session_id": v.ids["session_id"]})
    assert admitted["pass_id"] == v.ids["pass_id"] and admitted["result"] == "valid", admitted
    assert v.json("GET", "/api/passes/{pass_id}")["bookings"]
    booked = {"session_id": v.ids["session_id"]}
    again = v.json("POST", "/api/passes/{pass_id}/bookings", 200, json=booked)
    assert again["created"] is False
    v.json("POST", "/api/pass-bookings", 200, json={**booked, "code": code})
    v.json("GET", "/api/passes", params={"q": "camille", "status": "active", "limit": 5})
    kind = {
        "name": "Festival",
        "price_cents": 4500,
        "tax_rate_bp": 550,
        "valid_from": new_pass["valid_from"],
        "valid_until": new_pass["valid_until"],
    }
    v.ids["pass_type_id"] = v.json("POST", "/api/pass-types", 201, json=kind)["id"]
    v.json("PATCH", "/api/pass-types/{pass_type_id}", json={"max_sessions": 3})
    v.json("GET", "/api/pass-types", params={"all": "1"})
    name = f"tab-{uuid.uuid4().hex[:8]}"
    device = v.json("POST", "/api/devices", 201, json={"name": name, "mode": "exit"})
    v.ids["device_id"] = device["device"]["id"]
    v.json("GET", "/api/devices")
    renewed = v.json("POST", "/api/devices/{device_id}/enrolment")
    v.call("GET", "/api/devices/{device_id}/enrolment.svg", 200)
    v.json("POST", "/api/devices/enrol", json={"code": renewed["enrolment_code"]})
    v.call("POST", "/api/devices/enrol", 409, json={"code": renewed["enrolment_code"]})
    v.json("POST", "/api/devices/{device_id}/revoke")
    v.call("POST", "/api/devices/{device_id}/enrolment", 409)  # revoked: no new code


def _identity(v: Visit) -> None:
    user = {"username": f"u-{uuid.uuid4().hex[:8]}", "password": "long-password", "roles": []}
    v.ids["user_id"] = v.json("POST", "/api/users", 201, json=user)["id"]
    v.ids["admin_id"] = v.json("GET", "/api/auth/me")["id"]
    v.json("POST", "/api/users/{user_id}/revoke-tokens")
    v.json("GET", "/api/users", params={"q": "u-", "limit": 5})
    v.json("PATCH", "/api/users/{user_id}", json={"display_name": "U", "roles": ["stats"]})
    v.json("POST", "/api/users/{user_id}/disable")
    v.json("POST", "/api/users/{user_id}/enable")
    v.json("POST", "/api/users/{user_id}/password", json={"password": user["password"]})
    desk = {"name": f"Desk {uuid.uuid4().hex[:6]}", "kind": "desk"}
    v.json("POST", "/api/points-of-sale", 201, json=desk)
    v.json("GET", "/api/points-of-sale")
    credentials = {k: user[k] for k in ("username", "password")}
    token = v.json("POST", "/api/auth/login", json=credentials)["token"]
    v.call("POST", "/api/auth/login", 401, json={"username": "nobody", "password": "x"})
    v.json("POST", "/api/auth/session", json=credentials)
    as_user = {"Authorization": f"Bearer {token}"}
    v.json("PATCH", "/api/auth/me", json={"language": "en"}, headers=as_user)
    change = {"current": user["password"], "new": "another-long-password"}
    v.json("POST", "/api/auth/password", json=change, headers=as_user)
    v.json("DELETE", "/api/auth/session")  # with the admin's token: clears the cookie
    v.http.cookies.clear()
    v.json("GET", "/api/auth/me")
    v.json("GET", "/api/audit", params={"action": "user.", "limit": 10})
    v.call("GET", "/api/audit.csv", 200, params={"subject": "user:"})
    v.json("GET", "/healthz")


def _articles(v: Visit, pos: int) -> None:
    family = {"name": f"Bar {uuid.uuid4().hex[:6]}"}
    v.ids["family_id"] = v.json("POST", "/api/article-families", 201, json=family)["id"]
    v.json("PATCH", "/api/article-families/{family_id}", json={"name": family["name"] + "!"})
    v.json("GET", "/api/article-families")
    beer = {
        "family_id": v.ids["family_id"],
        "name": "Bière",
        "price_cents": 500,
        "tax_rate_bp": 2000,
        "stock": 100,
        "alert_at": 10,
        "point_of_sale_id": pos,
    }
    v.ids["article_id"] = v.json("POST", "/api/articles", 201, json=beer)["id"]
    v.json("GET", "/api/articles", params={"point_of_sale_id": pos})
    v.json("PATCH", "/api/articles/{article_id}", json={"price_cents": 550, "alert_at": None})
    restock = {"delta": 24, "reason": "delivery"}
    v.json("POST", "/api/articles/{article_id}/stock", json=restock)


def _reservation(v: Visit) -> None:
    """A reservation booked, found and paid at the desk."""
    seat = v.ids["seats"][35]  # below the seats of ``refresh``
    hold = v.http.post(f"/api/sessions/{v.ids['session_id']}/holds", json={"seats": [seat]})
    assert hold.status_code == 200, hold.text
    order = {
        "hold_token": hold.json()["token"],
        "idempotency_key": uuid.uuid4().hex,
        "items": [{"seat": seat, "tariff_id": v.ids["tariff_id"]}],
        "reservation": True,
        "buyer": {"name": "Contract buyer"},
    }
    booked = v.json("POST", "/api/sessions/{session_id}/orders", 201, json=order)
    found = v.json("GET", "/api/reservations", params={"q": "contract", "limit": 5})
    assert [r["id"] for r in found["reservations"]] == [booked["id"]]
    pay = {
        "register_session_id": v.ids["register_session_id"],
        "payments": [{"method": "card", "amount_cents": booked["total_cents"]}],
        "idempotency_key": uuid.uuid4().hex,
    }
    v.json("POST", "/api/orders/{order_id}/pay", 201, json=pay, at={"order_id": booked["id"]})


def _cash(v: Visit) -> None:
    desk = {"name": f"Till {uuid.uuid4().hex[:6]}", "kind": "desk"}
    pos = v.json("POST", "/api/points-of-sale", 201, json=desk)["id"]
    register = {"point_of_sale_id": pos, "name": "Till 1", "currency": "EUR"}
    v.ids["register_id"] = v.json("POST", "/api/registers", 201, json=register)["id"]
    v.json("GET", "/api/registers")
    counted = {"counted": {"2000": 2, "100": 10}}
    opened = v.json("POST", "/api/registers/{register_id}/sessions", 201, json=counted)
    v.ids["register_session_id"] = opened["id"]
    v.json("GET", "/api/register-sessions/current")
    _articles(v, pos)
    operation = {"kind": "credit", "amount_cents": 500, "reason": "change"}
    v.json("POST", "/api/register-sessions/{register_session_id}/operations", 201, json=operation)
    v.refresh(5)
    order = {
        "hold_token": v.ids["token"],
        "idempotency_key": uuid.uuid4().hex,
        "items": [{"seat": s, "tariff_id": v.ids["tariff_id"]} for s in v.ids["held"]],
        "register_session_id": v.ids["register_session_id"],
        "payments": [{"method": "cash", "amount_cents": 1500 + 550, "given_cents": 3000}],
        "articles": [{"article_id": v.ids["article_id"], "quantity": 1}],
    }
    sold = v.json("POST", "/api/sessions/{session_id}/orders", 201, json=order)
    v.ids["entry_id"] = sold["receipt"]["journal_id"]
    v.json("GET", "/api/register-sessions/{register_session_id}/journal")
    v.call("GET", "/api/journal/{entry_id}/receipt.pdf", 200, params={"paper": "a4"})
    refund = {"register_session_id": v.ids["register_session_id"], "method": "cash"}
    v.json("POST", "/api/journal/{entry_id}/refund", 201, json=refund)
    _reservation(v)
    sale = {
        "idempotency_key": uuid.uuid4().hex,
        "items": [{"article_id": v.ids["article_id"], "quantity": 2}],
        "payments": [{"method": "cash", "amount_cents": 1100, "given_cents": 2000}],
    }
    sold = v.json("POST", "/api/register-sessions/{register_session_id}/sales", 201, json=sale)
    some = {**refund, "articles": [{"article_id": v.ids["article_id"], "quantity": 1}]}
    v.json("POST", "/api/journal/{entry_id}/refund", 201, json=some, at={"entry_id": sold["id"]})
    pass_sale = {
        "idempotency_key": uuid.uuid4().hex,
        "pass_type_id": v.ids["pass_type_id"],
        "holder_first_name": "Ines",
        "holder_last_name": "Moreau",
        "payments": [{"method": "card", "amount_cents": 4500}],
    }
    sold = v.json(
        "POST", "/api/register-sessions/{register_session_id}/passes", 201, json=pass_sale
    )
    v.json(
        "POST",
        "/api/journal/{entry_id}/refund",
        201,
        json=refund,
        at={"entry_id": sold["receipt"]["id"]},
    )
    v.json("GET", "/api/register-sessions/{register_session_id}/report")
    user = {"username": f"c-{uuid.uuid4().hex[:8]}", "password": "long-password", "roles": []}
    user["roles"] = ["pos"]
    v.json("POST", "/api/users", 201, json=user)
    token = v.json("POST", "/api/auth/login", json=user)["token"]
    as_cashier = {"Authorization": f"Bearer {token}"}
    handed = v.json(
        "POST",
        "/api/register-sessions/{register_session_id}/handover",
        201,
        json=counted,
        headers=as_cashier,
    )
    closing = {"counted": {"2000": 2}}
    v.json(
        "POST",
        "/api/register-sessions/{register_session_id}/close",
        json=closing,
        at={"register_session_id": handed["opened"]["id"]},
    )
    v.json("GET", "/api/registers/{register_id}/sessions", params={"limit": 5})


def _wallet(v: Visit) -> None:
    """A pass's wallet topped up at a desk, debited at a bar online and offline, corrected."""
    now = datetime.now(UTC)
    holder = {
        "holder_name": "Wallet holder",
        "valid_from": (now - timedelta(days=1)).isoformat(),
        "valid_until": (now + timedelta(days=30)).isoformat(),
        "all_sessions": True,
    }
    pass_id = v.http.post("/api/passes", json=holder).json()["id"]
    code = v.http.get(f"/api/passes/{pass_id}/code").text
    desk = v.http.post("/api/points-of-sale", json={"name": f"W {uuid.uuid4().hex[:6]}"})
    till = {"point_of_sale_id": desk.json()["id"], "name": "Till", "currency": "EUR"}
    till_id = v.http.post("/api/registers", json=till).json()["id"]
    opened = v.http.post(f"/api/registers/{till_id}/sessions", json={"counted": {"100": 1}})
    bar = {"name": f"Bar {uuid.uuid4().hex[:6]}", "kind": "bar"}
    bar_pos = v.http.post("/api/points-of-sale", json=bar).json()["id"]
    bar_reg = {"point_of_sale_id": bar_pos, "name": "Bar", "currency": "EUR"}
    at = {"register_id": v.http.post("/api/registers", json=bar_reg).json()["id"]}
    top_up = {
        "idempotency_key": uuid.uuid4().hex,
        "code": code,
        "amount_cents": 2000,
        "method": "cash",
        "given_cents": 2000,
        "register_session_id": opened.json()["id"],
    }
    v.json("POST", "/api/wallets/top-ups", 201, json=top_up)
    assert v.json("GET", "/api/bars")["bars"]
    debit = {"idempotency_key": uuid.uuid4().hex, "code": code, "register_id": at["register_id"]}
    moved = v.json("POST", "/api/wallets/debits", 201, json={**debit, "amount_cents": 500})
    wallet = v.json("POST", "/api/wallet", json={"code": code})
    assert wallet["balance_cents"] == 1500 and len(wallet["history"]) == 2
    allowance = v.json(
        "POST", "/api/bars/{register_id}/allowance", json={"device": "visit-0001"}, at=at
    )
    queued = {
        "idempotency_key": uuid.uuid4().hex,
        "code": code,
        "amount_cents": 1800,
        "taken_at": now.isoformat(),
    }
    upload = {"allowance": allowance["token"], "debits": [queued]}
    done = v.json("POST", "/api/bars/{register_id}/offline-debits", json=upload, at=at)
    assert done["results"][0]["overdraft"] is True
    assert v.json("GET", "/api/wallet-overdrafts", params={"limit": 5})["overdrafts"]
    correction = {"idempotency_key": uuid.uuid4().hex, "reason": "wrong amount"}
    at_tx = {"transaction_id": moved["transaction_id"]}
    v.json(
        "POST", "/api/wallet-transactions/{transaction_id}/reversal", 201, json=correction, at=at_tx
    )
    at_wallet = {"wallet_id": wallet["id"]}
    v.json("PATCH", "/api/wallets/{wallet_id}", json={"status": "blocked"}, at=at_wallet)
    assert v.json("GET", "/api/wallet-settlement", params={"limit": 500})["wallets"]
    settle = {"idempotency_key": uuid.uuid4().hex, "how": "card"}
    v.json("POST", "/api/wallets/{wallet_id}/settlement", 201, json=settle, at=at_wallet)
    other_id = v.http.post("/api/passes", json=holder).json()["id"]
    other = v.http.get(f"/api/passes/{other_id}/code").text
    again = {**top_up, "idempotency_key": uuid.uuid4().hex, "code": other}
    v.http.post("/api/wallets/top-ups", json=again).raise_for_status()
    gift = {"idempotency_key": uuid.uuid4().hex, "code": other}
    v.json("POST", "/api/wallet/donation", 201, json=gift)
    old = {"idempotency_key": uuid.uuid4().hex, "unused_since": "2000-01-01T00:00:00+00:00"}
    assert v.json("POST", "/api/wallet-breakage", json=old)["wallets"] == 0


def _accounting(v: Visit) -> None:
    """The statements of today's trade, as JSON, CSV and XLSX."""
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    found = v.json("GET", "/api/statements/sales", params={**span, "limit": 50})
    assert found["lines"] and found["totals"]["by_method"]
    v.call("GET", "/api/statements/sales.csv", 200, params={**span, "channel": "desk"})
    v.call("GET", "/api/statements/sales.xlsx", 200, params={**span, "method": "cash"})
    assert v.json("GET", "/api/statements/registers", params=span)["sessions"]
    v.call("GET", "/api/statements/registers.csv", 200, params=span)
    v.call("GET", "/api/statements/registers.xlsx", 200, params={**span, "tz": "Europe/Paris"})
    assert v.json("GET", "/api/statements/accounting", params=span)["by_day"]
    v.call("GET", "/api/statements/accounting.csv", 200, params=span)
    v.call("GET", "/api/statements/accounting.xlsx", 200, params=span)
    year = {"from": span["from"], "to": (today + timedelta(days=364)).isoformat()}
    found = v.json("GET", "/api/stats", params={**year, "tz": "Europe/Paris"})
    assert found["sales_over_time"]["rows"] and found["sales_over_time"]["unit"] == "day"


def _exports(v: Visit) -> None:
    """A statement and the tickets of the visit's session queued, followed, downloaded."""
    today = datetime.now(UTC).date()
    span = {"from": (today - timedelta(days=1)).isoformat(), "to": today.isoformat()}
    q = {"statement": "sales", "format": "csv", **span}
    v.json("POST", "/api/exports/statements", 202, params=q)
    body = {"session_id": v.ids["session_id"], "format": "zip"}
    v.ids["job_id"] = v.json("POST", "/api/exports/tickets", 202, json=body)["id"]
    assert v.json("GET", "/api/exports")["jobs"]
    for _ in range(300):
        if v.json("GET", "/api/exports/{job_id}")["status"] == "done":
            break
        time.sleep(0.1)
    v.call("GET", "/api/exports/{job_id}/file", 200)


def _payments(v: Visit, paying_url: str) -> None:
    """An anonymous buyer on a server with the test provider: a pending order, the hosted
    page, a refused webhook, a payment, the order page and its tickets."""
    with httpx.Client(base_url=paying_url, timeout=30) as http:
        buyer = Visit(http, v.schema, dict(v.ids), v.seen)
        seats = v.ids["seats"][-1:]
        hold = buyer.json("POST", "/api/sessions/{session_id}/holds", json={"seats": seats})
        items = [{"seat": seats[0], "tariff_id": v.ids["tariff_id"]}]
        body = {"hold_token": hold["token"], "idempotency_key": uuid.uuid4().hex, "items": items}
        order = buyer.json("POST", "/api/sessions/{session_id}/orders", 201, json=body)
        paying = {"payment_id": order["payment"]["redirect_url"].rsplit("/", 1)[1]}
        buyer.call("GET", "/pay/test/{payment_id}", 200, at=paying)
        forged = {"guichet-test-signature": "sha256=00", "content-type": "application/json"}
        hook = {"provider": "test"}
        buyer.call("POST", "/api/payments/{provider}/webhook", 400, at=hook, headers=forged)
        buyer.call("POST", "/pay/test/{payment_id}", 303, at=paying, data={"choice": "success"})
        link = {"link": order["link"]}
        page = buyer.json("POST", "/api/orders/by-link/{link}/return", at=link)
        assert page["status"] == "confirmed"
        buyer.json("GET", "/api/orders/by-link/{link}", at=link)
        buyer.call("GET", "/api/orders/by-link/{link}/tickets.pdf", 200, at=link)
        one = {**link, "ticket_id": page["tickets"][0]["id"]}
        path = "/api/orders/by-link/{link}/tickets/{ticket_id}"
        buyer.call("GET", path, 200, at=one, params={"format": "png"})


def _cart(v: Visit, paying_url: str, api: str = "/api", seat: int = 37, **headers: str) -> None:
    """The shop's cart on the paying server: a session's seat, a pass and an article sold
    online, more time, the checkout as one pending order; another cart abandoned. With
    ``api`` the website API's prefix (and its key in ``headers``), the same through it."""
    patch = {"sold_online": True}
    v.json("PATCH", "/api/pass-types/{pass_type_id}", json=patch)
    v.json("PATCH", "/api/articles/{article_id}", json=patch)
    with httpx.Client(base_url=paying_url, timeout=30, headers=headers) as http:
        buyer = Visit(http, v.schema, dict(v.ids), v.seen)
        buyer.json("GET", api + "/shop/offers")
        buyer.ids["cart"] = buyer.json("POST", api + "/carts", 201, json={})["id"]
        seats = v.ids["seats"][seat : seat + 1]  # below the seats of ``refresh``
        hold = buyer.json("POST", api + "/sessions/{session_id}/holds", json={"seats": seats})
        items = [{"seat": seats[0], "tariff_id": v.ids["tariff_id"]}]
        path = api + "/carts/{cart}/sessions/{session_id}"
        buyer.json("PUT", path, json={"hold_token": hold["token"], "items": items})
        holder = {"holder_first_name": "Ada", "holder_last_name": "King"}
        body = {"pass_type_id": v.ids["pass_type_id"], **holder}
        cart = buyer.json("POST", api + "/carts/{cart}/passes", json=body)
        line = {"line_id": cart["passes"][0]["line_id"]}
        buyer.json("DELETE", api + "/carts/{cart}/passes/{line_id}", at=line)
        buyer.json("POST", api + "/carts/{cart}/passes", json=body)
        buyer.json("PUT", api + "/carts/{cart}/articles/{article_id}", json={"quantity": 1})
        buyer.json("POST", api + "/carts/{cart}/extend")
        buyer.json("GET", api + "/carts/{cart}")
        key = {"idempotency_key": uuid.uuid4().hex, "buyer": {"name": "Ada", "email": "a@b.ch"}}
        order = buyer.json("POST", api + "/carts/{cart}/checkout", 201, json=key)
        assert order["status"] == "pending" and order["payment"]["status"] == "open"
        more = {"hold_seconds": 60}
        other = {"cart": buyer.json("POST", api + "/carts", 201, json=more)["id"]}
        buyer.json("DELETE", path, at={**other, "session_id": v.ids["session_id"]})
        buyer.json("DELETE", api + "/carts/{cart}", at=other)
        v.ids["cart"] = buyer.ids["cart"]


def _website(v: Visit) -> None:
    """Website keys (one made and revoked), then the website API with the other key;
    "My tickets" with a link nobody sent."""
    keys = "/api/api-keys"
    body = {"name": "Contract site", "origins": ["https://site.example"], "rate_per_minute": 100000}
    made = v.json("POST", keys, 201, json=body)
    v.ids["api_key"], v.ids["website_key_id"] = made["key"], made["id"]
    other = v.json("POST", keys, 201, json={**body, "name": "Gone"})
    v.ids["api_key_id"] = other["id"]  # generated revocations find it revoked
    assert len(v.json("GET", keys)["keys"]) >= 2
    v.json("POST", keys + "/{api_key_id}/revoke")
    key = {"X-Api-Key": made["key"], "Origin": "https://site.example"}
    public = "/api/public/v1"
    v.json("GET", public + "/events", headers=key)
    v.json("GET", public + "/sessions", headers=key, params={"limit": 5})
    v.json("GET", public + "/sessions/{session_id}", headers=key)
    v.json("GET", public + "/sessions/{session_id}/tariffs", headers=key)
    seat = [v.ids["seats"][36]]  # below the seats of ``refresh``, after the desk's
    hold = v.json(
        "POST", public + "/sessions/{session_id}/holds", headers=key, json={"seats": seat}
    )
    cart = {"token": hold["token"]}
    path = public + "/sessions/{session_id}/holds/{token}"
    assert v.call("GET", path, 200, at=cart, headers=key).json()["seats"] == seat
    v.call("DELETE", path, 200, at=cart, headers=key)
    v.call("POST", "/api/my-tickets/link", 202, json={"email": "contract@example.org"})
    nobody = {"token": "1." + "A" * 32}
    v.call("POST", "/api/my-tickets/orders", 404, json=nobody)
    v.call("POST", "/api/my-tickets/sign-out", 404, json=nobody)


@pytest.fixture(scope="module")
def visit(
    server: ServerProcess, paying_server: ServerProcess, admin_token: str, schema: Any
) -> Iterator[Visit]:
    headers = {"Authorization": f"Bearer {admin_token}"}
    with httpx.Client(base_url=server.url, headers=headers, timeout=30) as http:
        v = Visit(http, schema)
        for part in (
            _catalogue,
            _sales,
            _door,
            _passes_and_devices,
            _cash,
            _wallet,
            _accounting,
            _exports,
            _identity,
            _website,
        ):
            part(v)
        _payments(v, paying_server.url)
        _cart(v, paying_server.url)
        website = {"X-Api-Key": v.ids["api_key"], "Origin": "https://site.example"}
        _cart(v, paying_server.url, "/api/public/v1", 38, **website)
        yield v


def test_a_visit_through_every_operation_keeps_the_contract(visit: Visit) -> None:
    assert sorted(visit.seen) == sorted(LABELS)


# -- generated requests ---------------------------------------------------------------------


def known_ids(visit: Visit, operation: Any) -> dict[str, dict[str, Any]]:
    """The visit's ids for the operation's path and query parameters, by location."""
    known: dict[str, dict[str, Any]] = {"path": {}, "query": {}}
    for param in operation.iter_parameters():
        where = param.location.value
        if where in known and (value := visit.ids.get(param.name)) is not None:
            known[where][param.name] = value
    return known


def with_known_body(visit: Visit, case: Any) -> Any:
    """The case, its body's ids, hold token and seats made the visit's: so generated bodies
    reach past "no such session" into the handlers' rules."""
    body, ids = case.body, visit.ids
    if not isinstance(body, dict):
        return case
    for key, name in (("room_id", "room_id"), ("hold_token", "token"), ("token", "token")):
        if key in body:
            body[key] = ids[name]
    seats = body.get("seats")
    if isinstance(seats, list):  # free at first (4 are sold or held), then held
        body["seats"] = ids["seats"][4 : 4 + min(len(seats), 16)]
    items = body.get("items")
    if isinstance(items, list):  # an order: of the held seat, with a key
        body.setdefault("idempotency_key", f"key-{uuid.uuid4()}")
        for item in items:
            if isinstance(item, dict):
                item.update(seat=ids["held"][0], tariff_id=ids["tariff_id"])
    return case


def strategy(operation: Any, visit: Visit) -> tuple[st.SearchStrategy[Any], int]:
    """Valid requests and, where there is an input, invalid ones; with random ids and, where
    the visit has some, with its ids. Returns the strategy and how many examples to run."""
    known = known_ids(visit, operation)
    has_input = bool(operation.body) or any(True for _ in operation.iter_parameters())
    if not has_input:  # nothing to vary: a few calls (rotating keys makes a key each)
        return operation.as_strategy(GenerationMode.POSITIVE), 3
    kinds = []
    for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
        kinds.append(operation.as_strategy(mode))
        if known["path"] or known["query"] or operation.body:
            fixed = operation.as_strategy(mode, path_parameters=known["path"], query=known["query"])
            kinds.append(fixed.map(lambda case: with_known_body(visit, case)))
    return st.one_of(kinds), MAX_EXAMPLES * len(kinds)


def keep_the_admin(case: Any, visit: Visit) -> None:
    """The other tests sign in as ``admin``: a generated user must not reset its password,
    nor a generated revocation void its tokens."""
    body = case.body
    is_user = case.operation.path == "/api/users" and isinstance(body, dict)
    if is_user and body.get("username") == "admin":
        body["username"] = "admin-not"
    params = case.path_parameters or {}
    if params.get("user_id") == visit.ids["admin_id"]:
        params["user_id"] = visit.ids["user_id"]
    if params.get("api_key_id") == visit.ids["website_key_id"]:  # the website key stays
        params["api_key_id"] = visit.ids["api_key_id"]


@pytest.mark.parametrize("label", LABELS)
def test_generated_requests_keep_the_contract(
    label: str, schema: Any, visit: Visit, admin_token: str
) -> None:
    method, path = label.split(" ", 1)
    operation = schema[path][method]
    headers = {"Authorization": f"Bearer {admin_token}"}
    if path.startswith("/api/public/"):  # the website API: with the visit's key
        headers["X-Api-Key"] = visit.ids["api_key"]
    visit.refresh(LABELS.index(label))
    cases, examples = strategy(operation, visit)

    @given(case=cases)
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        keep_the_admin(case, visit)
        case.call_and_validate(headers=headers, checks=CHECKS)

    run()
