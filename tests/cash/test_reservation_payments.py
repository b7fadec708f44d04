"""Unpaid reservations at the desk (docs/cash.md, "Reservations at the desk"): found by
number or name, paid at a register session in one transaction that turns the order into a
journalled sale, which the door then no longer releases; bad requests change nothing."""

from __future__ import annotations

import uuid
from typing import Any

from tests import support
from tests.cash.helpers import cashier, db, new_register, open_session, verify
from tests.support import Api, ServerProcess


async def reserve(
    api: Api, s: support.SessionInfo, seats: list[str], name: str = "Ada Lovelace"
) -> dict[str, Any]:
    token = (await api.hold(s.id, seats)).json()["token"]
    r = await api.http.post(
        f"/api/sessions/{s.id}/orders",
        json={
            "hold_token": token,
            "idempotency_key": uuid.uuid4().hex,
            "reservation": True,
            "buyer": {"name": name},
            "items": [{"seat": seat, "tariff_id": s.tariff_ids[0]} for seat in seats],
        },
    )
    assert r.status_code == 201, r.text
    order: dict[str, Any] = r.json()
    return order


def payment(rs: int, cents: int, key: str | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "register_session_id": rs,
        "payments": [{"method": "cash", "amount_cents": cents, **extra}],
        "idempotency_key": key or uuid.uuid4().hex,
    }


async def state_of(order_id: int) -> tuple[str, int, int]:
    """The order's kind, its journal entries and its audit entries."""
    conn = await db()
    try:
        row = await conn.fetchrow(
            "SELECT o.kind, (SELECT count(*) FROM journal j WHERE j.order_id = o.id) AS entries,"
            " (SELECT count(*) FROM audit_log a WHERE a.subject = 'order:' || o.id"
            "  AND a.action = 'order.pay') AS audits FROM orders o WHERE o.id = $1",
            order_id,
        )
    finally:
        await conn.close()
    return row["kind"], row["entries"], row["audits"]


async def test_a_reservation_paid_at_the_desk_is_a_journalled_sale(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server, "pos")
    try:
        s = await admin.create_session()
        r = await admin.http.patch(f"/api/tariffs/{s.tariff_ids[0]}", json={"tax_rate_bp": 550})
        assert r.status_code == 200, r.text
        order = await reserve(cash, s, s.seat_ids[:2], "Grace Hopper")
        rs = await open_session(cash, register_id)

        found = await cash.http.get("/api/reservations", params={"q": "hopp"})
        assert found.status_code == 200, found.text
        [hit] = [x for x in found.json()["reservations"] if x["id"] == order["id"]]
        assert (hit["total_cents"], hit["buyer_name"]) == (3000, "Grace Hopper")
        assert [t["seat_id"] for t in hit["tickets"]] == s.seat_ids[:2]
        by_number = await cash.http.get("/api/reservations", params={"q": str(order["id"])})
        assert [x["id"] for x in by_number.json()["reservations"]] == [order["id"]]
        in_session = await cash.http.get("/api/reservations", params={"session_id": s.id})
        assert [x["id"] for x in in_session.json()["reservations"]] == [order["id"]]

        body = payment(rs, 3000, given_cents=5000)
        paid = await cash.http.post(f"/api/orders/{order['id']}/pay", json=body)
        assert paid.status_code == 201, paid.text
        receipt = paid.json()
        assert receipt["receipt_no"] == 2  # the float is 1: no gap
        entries = (await cash.http.get(f"/api/register-sessions/{rs}/journal")).json()["entries"]
        sale = entries[0]
        assert (sale["id"], sale["kind"], sale["order_id"]) == (
            receipt["journal_id"],
            "sale",
            order["id"],
        )
        assert [e["receipt_no"] for e in entries] == [2, 1]
        assert [(ln["ticket_id"], ln["tax_rate_bp"], ln["tax_cents"]) for ln in sale["lines"]] == [
            (t["id"], 550, 78) for t in order["tickets"]
        ]
        assert sale["tax_cents"] == 156 and sale["payments"][0]["change_cents"] == 2000
        assert await state_of(order["id"]) == ("sale", 1, 1)
        assert await verify(register_id) is None

        # a retry replays the receipt; another payment is refused; it is found no more
        again = await cash.http.post(f"/api/orders/{order['id']}/pay", json=body)
        assert again.status_code == 200 and again.json() == receipt
        other = await cash.http.post(f"/api/orders/{order['id']}/pay", json=payment(rs, 3000))
        assert other.status_code == 409 and other.json()["error"]["code"] == "already_paid"
        after = await cash.http.get("/api/reservations", params={"session_id": s.id})
        assert after.json()["reservations"] == []

        # the door's release of unscanned reservations leaves it alone now
        conn = await db()
        try:
            await conn.execute(
                "UPDATE tickets SET created_at = now() - interval '1 hour' WHERE order_id = $1",
                order["id"],
            )
        finally:
            await conn.close()
        preview = await admin.http.get(f"/api/sessions/{s.id}/unscanned-reservations")
        assert preview.json()["count"] == 0
        # and its tickets are refunded through the journal only
        ticket = order["tickets"][0]["id"]
        door = await admin.http.post(f"/api/tickets/{ticket}/refund")
        assert door.status_code == 409 and door.json()["error"]["code"] == "journalled_sale"
    finally:
        await cash.close()


async def test_bad_payments_of_a_reservation_change_nothing(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server, "pos")
    other = await cashier(admin, server, "pos")
    try:
        s = await admin.create_session()
        order = await reserve(cash, s, s.seat_ids[:1])
        rs = await open_session(cash, register_id)
        pay = f"/api/orders/{order['id']}/pay"
        refusals = [
            (cash, pay, payment(rs, 1400), 400, "payments_mismatch"),
            (cash, pay, payment(rs, 1500, given_cents=1000), 400, "invalid_given"),
            (other, pay, payment(rs, 1500), 403, "not_your_register_session"),
            (cash, "/api/orders/999999999/pay", payment(rs, 1500), 404, "not_found"),
            (cash, pay, {"register_session_id": rs, "payments": []}, 400, "invalid_field"),
        ]
        for api, path, body, status, code in refusals:
            r = await api.http.post(path, json=body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        assert await state_of(order["id"]) == ("reservation", 0, 0)

        # a sale is not a reservation; a released reservation is not paid
        sold = await reserve(cash, s, s.seat_ids[1:2])
        conn = await db()
        try:
            await conn.execute("UPDATE orders SET kind = 'sale' WHERE id = $1", sold["id"])
            await conn.execute(
                "UPDATE tickets SET status = 'cancelled' WHERE order_id = $1", order["id"]
            )
        finally:
            await conn.close()
        r = await cash.http.post(f"/api/orders/{sold['id']}/pay", json=payment(rs, 1500))
        assert r.json()["error"]["code"] == "not_a_reservation"
        r = await cash.http.post(pay, json=payment(rs, 1500))
        assert r.json()["error"]["code"] == "reservation_not_active"
        entries = (await cash.http.get(f"/api/register-sessions/{rs}/journal")).json()["entries"]
        assert [e["kind"] for e in entries] == ["float"]

        # the same key for another reservation's payment
        third = await reserve(cash, s, s.seat_ids[2:3])
        fourth = await reserve(cash, s, s.seat_ids[3:4])
        body = payment(rs, 1500)
        r = await cash.http.post(f"/api/orders/{third['id']}/pay", json=body)
        assert r.status_code == 201, r.text
        r = await cash.http.post(f"/api/orders/{fourth['id']}/pay", json=body)
        assert r.status_code == 422 and r.json()["error"]["code"] == "idempotency_key_mismatch"
        assert await state_of(fourth["id"]) == ("reservation", 0, 0)
    finally:
        await cash.close()
        await other.close()


async def test_only_sellers_find_and_collect_reservations(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    door = await cashier(admin, server, "entry_check")
    try:
        for api, status in ((buyer, 401), (door, 403)):
            assert (await api.http.get("/api/reservations")).status_code == status
            r = await api.http.post("/api/orders/1/pay", json=payment(1, 100))
            assert r.status_code == status
        for params in ({"limit": "51"}, {"session_id": "x"}, {"q": "x" * 101}):
            r = await admin.http.get("/api/reservations", params=params)
            assert r.status_code == 400 and r.json()["error"]["code"] == "invalid_field"
    finally:
        await door.close()
