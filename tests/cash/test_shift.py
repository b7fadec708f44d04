"""A cashier's shift over HTTP: float, desk sales journalled with the order, cash
operations, a refund that frees the seat, a blind close with a difference, the Z report."""

from __future__ import annotations

from typing import Any

from tests import support
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


async def journal_of(api: Api, session_id: int) -> list[dict[str, Any]]:
    r = await api.http.get(f"/api/register-sessions/{session_id}/journal")
    assert r.status_code == 200, r.text
    entries: list[dict[str, Any]] = r.json()["entries"]
    return entries


async def test_a_shift_from_float_to_z_report(server: ServerProcess, admin: Api) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server, "pos", "refund")
    try:
        s = await admin.create_session()
        rs = await open_session(cash, register_id)
        paid = [{"method": "cash", "amount_cents": 3000, "given_cents": 5000}]
        sold = await desk_sale(cash, s, rs, s.seat_ids[:2], paid)
        assert sold.status_code == 201, sold.text
        receipt = sold.json()["receipt"]
        assert receipt["receipt_no"] == 2  # 1 is the float
        split = [{"method": "card", "amount_cents": 1000}, {"method": "cash", "amount_cents": 500}]
        assert (await desk_sale(cash, s, rs, s.seat_ids[2:3], split)).status_code == 201
        for kind, amount in (("credit", 1000), ("debit", 300), ("debit_error", 300)):
            r = await cash.http.post(
                f"/api/register-sessions/{rs}/operations",
                json={"kind": kind, "amount_cents": amount, "reason": "change"},
            )
            assert r.status_code == 201, r.text
        ticket = sold.json()["tickets"][0]
        refund = await cash.http.post(
            f"/api/journal/{receipt['journal_id']}/refund",
            json={"register_session_id": rs, "ticket_ids": [ticket["id"]]},
        )
        assert refund.status_code == 201, refund.text
        assert refund.json()["total_cents"] == -1500
        assert ticket["seat_idx"] not in await support.sold_in_postgres(s.id)
        assert (await support.redis_seats(s.id)).get(ticket["seat_idx"], "free") == "free"

        x = (await cash.http.get(f"/api/register-sessions/{rs}/report")).json()["report"]
        assert x["expected_cash_cents"] is None  # blind for the cashier
        assert x["cash_received_cents"] == 3000 + 500 - 1500
        assert {t["description"]: t["tickets"] for t in x["tickets_by_tariff"]} == {"Full": 2}
        supervised = (await admin.http.get(f"/api/register-sessions/{rs}/report")).json()
        expected = FLOAT_CENTS + 3000 + 500 - 1500 + 1000 - 300 + 300
        assert supervised["report"]["expected_cash_cents"] == expected

        counted = {"2000": 4, "100": (expected - 8000) // 100 - 2}  # 2.00 short
        close = await cash.http.post(
            f"/api/register-sessions/{rs}/close", json={"counted": counted}
        )
        assert close.status_code == 200, close.text
        z = close.json()
        assert (z["expected_cents"], z["difference_cents"]) == (expected, -200)
        assert z["z_number"] == 1
        entries = await journal_of(cash, rs)
        assert entries[0]["kind"] == "closing_difference" and entries[0]["total_cents"] == -200
        assert z["z_hash"] == entries[0]["hash"]
        assert [e["receipt_no"] for e in entries] == list(range(len(entries), 0, -1))
        assert await verify(register_id) is None
        again = await cash.http.post(f"/api/register-sessions/{rs}/close", json={"counted": {}})
        assert again.json()["error"]["code"] == "register_session_closed"
        audit = await admin.http.get("/api/audit", params={"subject": f"register:{register_id}"})
        actions = sorted(e["action"] for e in audit.json()["items"])
        done = ("create", "open", "credit", "debit", "debit_error", "close")
        assert actions == sorted(f"register.{a}" for a in done)
    finally:
        await cash.close()


async def test_sale_lines_snapshot_the_tariffs_tax(server: ServerProcess, admin: Api) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server)
    try:
        s = await admin.create_session()
        r = await admin.http.patch(f"/api/tariffs/{s.tariff_ids[0]}", json={"tax_rate_bp": 550})
        assert r.status_code == 200, r.text
        rs = await open_session(cash, register_id)
        assert (await desk_sale(cash, s, rs, s.seat_ids[:1])).status_code == 201
        await admin.http.patch(f"/api/tariffs/{s.tariff_ids[0]}", json={"tax_rate_bp": 2000})
        sale = next(e for e in await journal_of(cash, rs) if e["kind"] == "sale")
        line = sale["lines"][0]
        assert (line["tax_rate_bp"], line["gross_cents"], line["tax_cents"]) == (550, 1500, 78)
        assert line["net_cents"] + line["tax_cents"] == line["gross_cents"]
        assert (sale["net_cents"], sale["tax_cents"]) == (1422, 78)
    finally:
        await cash.close()


async def test_payments_must_add_up_and_the_session_must_be_the_callers(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    alice, bob = await cashier(admin, server), await cashier(admin, server)
    try:
        s = await admin.create_session()
        rs = await open_session(alice, register_id)
        short = [{"method": "cash", "amount_cents": 1400}]
        r = await desk_sale(alice, s, rs, s.seat_ids[:1], short)
        assert (r.status_code, r.json()["error"]["code"]) == (400, "payments_mismatch")
        r = await desk_sale(bob, s, rs, s.seat_ids[1:2])
        assert (r.status_code, r.json()["error"]["code"]) == (403, "not_your_register_session")
        r = await desk_sale(
            alice,
            s,
            rs,
            s.seat_ids[2:3],
            [{"method": "card", "amount_cents": 1500, "given_cents": 2000}],
        )
        assert (r.status_code, r.json()["error"]["code"]) == (400, "invalid_given")
        conn = await db()
        try:
            sold = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE session_id = $1 AND status = 'active'", s.id
            )
            journalled = await conn.fetchval(
                "SELECT count(*) FROM journal WHERE register_id = $1", register_id
            )
        finally:
            await conn.close()
        assert (sold, journalled) == (0, 1)  # only the float: refused sales sold nothing
        await alice.http.post(f"/api/register-sessions/{rs}/close", json={"counted": {}})
        r = await desk_sale(alice, s, rs, s.seat_ids[3:4])
        assert (r.status_code, r.json()["error"]["code"]) == (409, "register_session_closed")
    finally:
        await alice.close()
        await bob.close()


async def test_a_journalled_ticket_is_refunded_through_its_register_only(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server, "pos", "refund")
    try:
        s = await admin.create_session()
        rs = await open_session(cash, register_id)
        sold = (await desk_sale(cash, s, rs, s.seat_ids[:1])).json()
        ticket = sold["tickets"][0]["id"]
        r = await admin.http.post(f"/api/tickets/{ticket}/refund")
        assert (r.status_code, r.json()["error"]["code"]) == (409, "journalled_sale")
        assert r.json()["error"]["journal_id"] == sold["receipt"]["journal_id"]
        assert sold["tickets"][0]["seat_idx"] in await support.sold_in_postgres(s.id)
    finally:
        await cash.close()


async def test_a_shop_sale_is_not_journalled(server: ServerProcess, admin: Api, buyer: Api) -> None:
    s = await admin.create_session()
    hold = (await buyer.hold(s.id, s.seat_ids[:1])).json()
    r = await buyer.buy(s.id, hold["token"], s.seat_ids[:1], s.tariff_ids[0])
    assert r.status_code == 201 and "receipt" not in r.json()
    conn = await db()
    try:
        assert not await conn.fetchval(
            "SELECT count(*) FROM journal WHERE order_id = $1", r.json()["id"]
        )
    finally:
        await conn.close()


async def test_a_handover_keeps_each_cashiers_takings_apart(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    alice, bob = await cashier(admin, server), await cashier(admin, server)
    try:
        s = await admin.create_session()
        first = await open_session(alice, register_id)
        assert (await desk_sale(alice, s, first, s.seat_ids[:2])).status_code == 201
        counted = {"2000": 4, "500": 1, "100": 5}  # 9000: 5500 + 3000 expected, 500 over
        r = await bob.http.post(
            f"/api/register-sessions/{first}/handover", json={"counted": counted}
        )
        assert r.status_code == 201, r.text
        closed, opened = r.json()["closed"], r.json()["opened"]
        assert (closed["difference_cents"], closed["z_number"]) == (500, 1)
        assert opened["opening_cents"] == 9000 and opened["handed_over_from"] == first
        assert (await desk_sale(bob, s, opened["id"], s.seat_ids[2:3])).status_code == 201
        by_session = (await admin.http.get(f"/api/registers/{register_id}/sessions")).json()
        takings = {
            x["cashier_id"]: (
                await admin.http.get(f"/api/register-sessions/{x['id']}/report")
            ).json()["report"]["cash_received_cents"]
            for x in by_session["sessions"]
        }
        assert sorted(takings.values()) == [1500, 3000]
        r = await alice.http.post(f"/api/registers/{register_id}/sessions", json={"counted": {}})
        assert r.json()["error"]["code"] == "register_busy"
        assert await verify(register_id) is None
    finally:
        await alice.close()
        await bob.close()
