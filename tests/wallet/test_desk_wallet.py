"""A desk sale paid from a wallet: the wallet is debited in the transaction of the sale's
journal entry (alone or with cash or card), never below zero; a refusal changes nothing;
a refund of such a sale credits the wallet back by a new ledger transaction."""

from __future__ import annotations

import uuid
from typing import Any

from server.wallet.ledger import drifted_accounts, sum_of_balances
from tests.articles.helpers import article
from tests.cash.helpers import (
    FLOAT_CENTS,
    cashier,
    db,
    desk_sale,
    new_register,
    open_session,
    verify,
)
from tests.support import Api, ServerProcess
from tests.wallet.helpers import balance, pass_code, top_up


def wallet(code: str, amount: int) -> dict[str, Any]:
    return {"method": "wallet", "amount_cents": amount, "code": code}


async def ledger_rows(journal_id: int) -> list[dict[str, Any]]:
    conn = await db()
    try:
        rows = await conn.fetch(
            "SELECT t.kind, t.amount_cents, f.kind AS source, f.point_of_sale_id AS source_pos,"
            " d.kind AS target, d.point_of_sale_id AS target_pos FROM ledger_transactions t"
            " JOIN ledger_accounts f ON f.id = t.from_account"
            " JOIN ledger_accounts d ON d.id = t.to_account WHERE t.journal_id = $1",
            journal_id,
        )
        assert await drifted_accounts(conn) == 0
        assert set((await sum_of_balances(conn)).values()) == {0}
        return [dict(r) for r in rows]
    finally:
        await conn.close()


async def count(sql: str, *args: object) -> int:
    conn = await db()
    try:
        value: int = await conn.fetchval(sql, *args)
        return value
    finally:
        await conn.close()


async def test_a_ticket_paid_from_a_wallet_and_in_cash_is_one_entry_and_one_transfer(
    server: ServerProcess, admin: Api
) -> None:
    _, code = await pass_code(admin, "Noé Leroy")
    register = await new_register(admin)
    point = await count("SELECT point_of_sale_id FROM registers WHERE id = $1", register)
    s = await admin.create_session(n_seats=8, per_row=4)
    desk = await cashier(admin, server, "pos", "wallet_manager")
    try:
        rs = await open_session(desk, register)
        assert (await top_up(desk, code, 2000, rs)).status_code == 201
        # two seats at 15.00: 20.00 from the wallet, 10.00 in cash
        r = await desk_sale(
            desk,
            s,
            rs,
            s.seat_ids[:2],
            [wallet(code, 2000), {"method": "cash", "amount_cents": 1000}],
        )
        assert r.status_code == 201, r.text
        receipt = r.json()["receipt"]
        assert receipt["wallet"]["balance_cents"] == 0
        assert receipt["wallet"]["holder"]["name"] == "Noé Leroy"
        assert await balance(desk, code) == 0
        journal = (await desk.http.get(f"/api/register-sessions/{rs}/journal")).json()
        entry = next(e for e in journal["entries"] if e["id"] == receipt["journal_id"])
        assert [(p["method"], p["amount_cents"]) for p in entry["payments"]] == [
            ("wallet", 2000),
            ("cash", 1000),
        ]
        assert await ledger_rows(receipt["journal_id"]) == [
            {
                "kind": "sale",
                "amount_cents": 2000,
                "source": "wallet",
                "source_pos": None,
                "target": "desk",
                "target_pos": point,
            }
        ]
        report = (await admin.http.get(f"/api/register-sessions/{rs}/report")).json()["report"]
        assert report["expected_cash_cents"] == FLOAT_CENTS + 2000 + 1000  # top-up and cash part
        history = (await desk.http.post("/api/wallet", json={"code": code})).json()["history"]
        assert [(m["kind"], m["amount_cents"]) for m in history] == [
            ("sale", -2000),
            ("topup", 2000),
        ]
        assert await verify(register) is None
    finally:
        await desk.close()


async def test_a_balance_too_low_refuses_the_sale_and_changes_nothing(
    server: ServerProcess, admin: Api
) -> None:
    _, code = await pass_code(admin)
    register = await new_register(admin)
    s = await admin.create_session(n_seats=8, per_row=4)
    desk = await cashier(admin, server, "pos", "wallet_manager")
    try:
        rs = await open_session(desk, register)
        assert (await top_up(desk, code, 1400, rs)).status_code == 201
        entries = "SELECT count(*) FROM journal WHERE register_id = $1"
        before = await count(entries, register)
        hold = await desk.hold(s.id, s.seat_ids[:1])
        body = {
            "hold_token": hold.json()["token"],
            "idempotency_key": uuid.uuid4().hex,
            "items": [{"seat": s.seat_ids[0], "tariff_id": s.tariff_ids[0]}],
            "register_session_id": rs,
            "payments": [wallet(code, 1500)],
        }
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=body)
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "insufficient_balance"
        assert r.json()["error"]["balance_cents"] == 1400
        assert await balance(desk, code) == 1400
        assert await count(entries, register) == before
        assert await count("SELECT count(*) FROM tickets WHERE session_id = $1", s.id) == 0
        # the seat is still held for the cashier: paid otherwise, the sale goes through
        body["payments"] = [wallet(code, 1400), {"method": "card", "amount_cents": 100}]
        body["idempotency_key"] = uuid.uuid4().hex
        r = await desk.http.post(f"/api/sessions/{s.id}/orders", json=body)
        assert r.status_code == 201, r.text
        assert await balance(desk, code) == 0
    finally:
        await desk.close()


async def test_wallet_payments_that_cannot_be_are_refused(
    server: ServerProcess, admin: Api
) -> None:
    _, code = await pass_code(admin)
    _, never_topped_up = await pass_code(admin)
    register = await new_register(admin)
    s = await admin.create_session(n_seats=8, per_row=4)
    desk = await cashier(admin, server, "pos", "wallet_manager")
    try:
        rs = await open_session(desk, register)
        assert (await top_up(desk, code, 5000, rs)).status_code == 201
        no_code = {"method": "wallet", "amount_cents": 1500}
        cases = [
            ([no_code], 400, "invalid_field"),
            ([wallet(code, 700), wallet(code, 800)], 400, "invalid_field"),
            ([{"method": "cash", "amount_cents": 1500, "code": code}], 400, "invalid_field"),
            ([wallet("GQ-not-a-code", 1500)], 400, "invalid_code"),
            ([wallet(never_topped_up, 1500)], 409, "no_wallet"),
        ]
        for n, (payments, status, error) in enumerate(cases):
            r = await desk_sale(desk, s, rs, [s.seat_ids[n]], payments)
            assert (r.status_code, r.json()["error"]["code"]) == (status, error), payments
        assert await balance(desk, code) == 5000
        assert await count("SELECT count(*) FROM tickets WHERE session_id = $1", s.id) == 0
    finally:
        await desk.close()


async def test_a_refund_credits_the_wallet_back_up_to_what_it_paid(
    server: ServerProcess, admin: Api
) -> None:
    _, code = await pass_code(admin)
    register = await new_register(admin)
    s = await admin.create_session(n_seats=8, per_row=4)
    desk = await cashier(admin, server, "pos", "wallet_manager", "refund")
    try:
        rs = await open_session(desk, register)
        assert (await top_up(desk, code, 2000, rs)).status_code == 201
        sold = await desk_sale(
            desk,
            s,
            rs,
            s.seat_ids[:2],
            [wallet(code, 2000), {"method": "cash", "amount_cents": 1000}],
        )
        assert sold.status_code == 201, sold.text
        sale_id = sold.json()["receipt"]["journal_id"]
        tickets = [t["id"] for t in sold.json()["tickets"]]

        def refund(ticket: int, method: str) -> dict[str, Any]:
            return {"register_session_id": rs, "ticket_ids": [ticket], "method": method}

        r = await desk.http.post(
            f"/api/journal/{sale_id}/refund", json=refund(tickets[0], "wallet")
        )
        assert r.status_code == 201, r.text
        assert r.json()["wallet"]["balance_cents"] == 1500
        assert await balance(desk, code) == 1500
        rows = await ledger_rows(r.json()["journal_id"])
        assert [(t["kind"], t["source"], t["target"], t["amount_cents"]) for t in rows] == [
            ("refund", "desk", "wallet", 1500)
        ]
        # 5.00 of the wallet's 20.00 is left to give back: the second ticket is 15.00
        r = await desk.http.post(
            f"/api/journal/{sale_id}/refund", json=refund(tickets[1], "wallet")
        )
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "wallet_refund_exceeds"
        assert r.json()["error"]["wallet_left_cents"] == 500
        assert await balance(desk, code) == 1500
        ticket = await count(
            "SELECT count(*) FROM tickets WHERE id = $1 AND status = 'active'", tickets[1]
        )
        assert ticket == 1  # nothing refunded
        r = await desk.http.post(f"/api/journal/{sale_id}/refund", json=refund(tickets[1], "cash"))
        assert r.status_code == 201, r.text

        cash_sale = await desk_sale(desk, s, rs, s.seat_ids[2:3])
        r = await desk.http.post(
            f"/api/journal/{cash_sale.json()['receipt']['journal_id']}/refund",
            json={"register_session_id": rs, "method": "wallet"},
        )
        assert r.status_code == 409, r.text
        assert r.json()["error"]["code"] == "not_paid_by_wallet"
        history = (await desk.http.post("/api/wallet", json={"code": code})).json()["history"]
        assert [m["kind"] for m in history] == ["refund", "sale", "topup"]
        assert await verify(register) is None
    finally:
        await desk.close()


async def test_articles_alone_are_paid_from_a_wallet_and_refunded_to_it(
    server: ServerProcess, admin: Api
) -> None:
    _, code = await pass_code(admin, "Inès Morel")
    register = await new_register(admin)
    beer = await article(admin, name="Bière", price_cents=450, stock=10)
    desk = await cashier(admin, server, "pos", "wallet_manager", "refund")
    stock = "SELECT stock FROM articles WHERE id = $1"
    try:
        rs = await open_session(desk, register)
        assert (await top_up(desk, code, 1000, rs)).status_code == 201

        def sale(quantity: int, payments: list[dict[str, Any]]) -> dict[str, Any]:
            items = [{"article_id": beer["id"], "quantity": quantity}]
            return {"idempotency_key": uuid.uuid4().hex, "items": items, "payments": payments}

        short = await desk.http.post(
            f"/api/register-sessions/{rs}/sales", json=sale(3, [wallet(code, 1350)])
        )
        assert short.status_code == 409, short.text
        assert short.json()["error"]["code"] == "insufficient_balance"
        assert await balance(desk, code) == 1000 and await count(stock, beer["id"]) == 10

        r = await desk.http.post(
            f"/api/register-sessions/{rs}/sales",
            json=sale(2, [wallet(code, 500), {"method": "card", "amount_cents": 400}]),
        )
        assert r.status_code == 201, r.text
        entry = r.json()
        assert [(p["method"], p["amount_cents"]) for p in entry["payments"]] == [
            ("wallet", 500),
            ("card", 400),
        ]
        assert await balance(desk, code) == 500 and await count(stock, beer["id"]) == 8
        rows = await ledger_rows(entry["id"])
        assert [(t["kind"], t["source"], t["target"], t["amount_cents"]) for t in rows] == [
            ("sale", "wallet", "desk", 500)
        ]

        back = await desk.http.post(
            f"/api/journal/{entry['id']}/refund",
            json={
                "register_session_id": rs,
                "articles": [{"article_id": beer["id"], "quantity": 1}],
                "method": "wallet",
            },
        )
        assert back.status_code == 201, back.text
        assert back.json()["wallet"]["balance_cents"] == 950
        assert await count(stock, beer["id"]) == 9
        assert await verify(register) is None
    finally:
        await desk.close()
