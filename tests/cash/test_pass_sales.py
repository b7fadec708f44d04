"""Passes sold at the cash desk: the sale journalled with its tax and a gap-free receipt,
the pass and its code in the answer, idempotent retries, refusals that change nothing,
and the refund that makes the pass refused at the door and frees its unused bookings."""

from __future__ import annotations

import base64
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from tests import support
from tests.cash.helpers import cashier, db, new_register, open_session, verify
from tests.door.test_door_api import door_session, scan
from tests.support import Api, ServerProcess

PHOTO = "data:image/jpeg;base64," + base64.b64encode(b"\xff\xd8\xff\xe0" + b"\0" * 60).decode()


async def pass_type(admin: Api, **extra: Any) -> dict[str, Any]:
    now = datetime.now(UTC)
    body: dict[str, Any] = {
        "name": f"Festival {uuid.uuid4().hex[:6]}",
        "price_cents": 4500,
        "tax_rate_bp": 550,
        **extra,
    }
    if "session_ids" not in body:
        body.setdefault("valid_from", (now - timedelta(days=1)).isoformat())
        body.setdefault("valid_until", (now + timedelta(days=30)).isoformat())
    r = await admin.http.post("/api/pass-types", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    return created


def sale_body(type_id: int, amount: int = 4500, **extra: Any) -> dict[str, Any]:
    return {
        "idempotency_key": uuid.uuid4().hex,
        "pass_type_id": type_id,
        "holder_first_name": "Ines",
        "holder_last_name": "Moreau",
        "photo": PHOTO,
        "payments": [{"method": "cash", "amount_cents": amount, "given_cents": 5000}],
        **extra,
    }


async def sell(api: Api, rs: int, body: dict[str, Any]) -> Any:
    return await api.http.post(f"/api/register-sessions/{rs}/passes", json=body)


async def counts() -> tuple[int, int, int]:
    conn = await db()
    try:
        row = await conn.fetchrow(
            "SELECT (SELECT count(*) FROM passes) AS p, (SELECT count(*) FROM journal) AS j,"
            " (SELECT count(*) FROM pass_sales) AS s"
        )
        return row["p"], row["j"], row["s"]
    finally:
        await conn.close()


async def test_a_pass_sold_at_the_desk_is_journalled_with_its_tax(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server)
    try:
        kind = await pass_type(admin)
        rs = await open_session(cash, register_id)
        body = sale_body(kind["id"])
        r = await sell(cash, rs, body)
        assert r.status_code == 201, r.text
        sold, receipt = r.json()["pass"], r.json()["receipt"]
        assert sold["holder"] == {"name": "Ines Moreau", "photo": PHOTO}
        assert (sold["holder_first_name"], sold["holder_last_name"]) == ("Ines", "Moreau")
        assert sold["pass_type_id"] == kind["id"] and sold["all_sessions"] is True
        assert sold["valid_from"] == kind["valid_from"] and sold["status"] == "active"
        assert sold["code"].startswith("GQ")
        assert receipt["receipt_no"] == 2 and receipt["kind"] == "sale"  # 1 is the float
        (line,) = receipt["lines"]
        assert (
            line["pass_id"] == sold["id"] and line["description"] == f"{kind['name']} - Ines Moreau"
        )
        # 45.00 at 5.5 %: tax = 4500 * 550 / 10550 = 234.6 -> 235
        assert (line["gross_cents"], line["tax_cents"], line["net_cents"]) == (4500, 235, 4265)
        assert receipt["payments"] == [
            {"method": "cash", "amount_cents": 4500, "given_cents": 5000, "change_cents": 500}
        ]
        code = (await cash.http.get(f"/api/passes/{sold['id']}/code")).text
        assert code == sold["code"]

        again = await sell(cash, rs, body)  # a retry: the same sale, nothing more
        assert again.status_code == 200 and again.json()["receipt"]["id"] == receipt["id"]
        other = await sell(cash, rs, {**body, "holder_first_name": "Lea"})
        assert other.status_code == 422
        assert other.json()["error"]["code"] == "idempotency_key_mismatch"

        second = await sell(cash, rs, sale_body(kind["id"]))
        assert second.json()["receipt"]["receipt_no"] == 3  # gap-free
        report = (await cash.http.get(f"/api/register-sessions/{rs}/report")).json()["report"]
        assert report["passes"] == [
            {
                "pass_type_id": kind["id"],
                "description": kind["name"],
                "passes": 2,
                "gross_cents": 9000,
            }
        ]
        assert report["tickets_by_tariff"] == []
        assert report["cash_sales_cents"] == 9000
        assert {r["tax_rate_bp"]: r["tax_cents"] for r in report["tax_by_rate"]} == {550: 470}
        assert await verify(register_id) is None
        audit = await admin.http.get("/api/audit", params={"subject": f"journal:{receipt['id']}"})
        assert [e["action"] for e in audit.json()["items"]] == ["journal.sale"]
    finally:
        await cash.close()


async def test_refused_pass_sales_change_nothing(server: ServerProcess, admin: Api) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server)
    try:
        kind = await pass_type(admin)
        closed = await pass_type(admin, active=False)
        dollars = await pass_type(admin, currency="USD")
        rs = await open_session(cash, register_id)
        before = await counts()
        cases: list[tuple[dict[str, Any], int, str]] = [
            (sale_body(kind["id"], amount=4000), 400, "payments_mismatch"),
            (sale_body(closed["id"]), 409, "pass_type_inactive"),
            (sale_body(dollars["id"]), 400, "currency_mismatch"),
            (sale_body(987_654_321), 404, "unknown_pass_type"),
            (
                sale_body(kind["id"], photo="data:image/png;base64," + "A" * 70_000),
                400,
                "invalid_field",
            ),
            (sale_body(kind["id"], photo="data:text/html;base64,PGI+"), 400, "invalid_field"),
            (sale_body(kind["id"], holder_first_name=" "), 400, "invalid_field"),
            (sale_body(kind["id"], holder_last_name="x" * 101), 400, "invalid_field"),
            (
                sale_body(
                    kind["id"],
                    payments=[{"method": "card", "amount_cents": 4500, "given_cents": 5000}],
                ),
                400,
                "invalid_given",
            ),
        ]
        for body, status, code in cases:
            r = await sell(cash, rs, body)
            assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        other = await cashier(admin, server)
        try:
            r = await sell(other, rs, sale_body(kind["id"]))
            assert r.json()["error"]["code"] == "not_your_register_session"
        finally:
            await other.close()
        assert await counts() == before
        r = await sell(cash, rs, sale_body(kind["id"]))
        assert r.json()["receipt"]["receipt_no"] == 2  # no number was used by the refusals
        door = Api(server.url, await support.staff_token(admin, "entry_check"))
        try:
            r = await sell(door, rs, sale_body(kind["id"]))
            assert r.status_code == 403
        finally:
            await door.close()
    finally:
        await cash.close()


async def test_a_refunded_pass_is_refused_at_the_door_and_frees_its_bookings(
    server: ServerProcess, admin: Api
) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server, "pos", "refund")
    try:
        session = await door_session(admin)
        kind = await pass_type(admin, session_ids=[session["id"]], price_cents=3000)
        rs = await open_session(cash, register_id)
        r = await sell(cash, rs, sale_body(kind["id"], amount=3000))
        assert r.status_code == 201, r.text
        sold, receipt = r.json()["pass"], r.json()["receipt"]
        booked = await cash.http.post(
            f"/api/passes/{sold['id']}/bookings", json={"session_id": session["id"]}
        )
        assert booked.status_code == 201, booked.text
        seat = booked.json()["booking"]["seat_idx"]
        assert seat in await support.sold_in_postgres(session["id"])

        refund = await cash.http.post(
            f"/api/journal/{receipt['id']}/refund",
            json={"register_session_id": rs, "method": "card"},
        )
        assert refund.status_code == 201, refund.text
        body = refund.json()
        assert body["passes"] == [sold["id"]] and body["total_cents"] == -3000
        assert [t["id"] for t in body["tickets"]] == [booked.json()["booking"]["ticket_id"]]
        assert seat not in await support.sold_in_postgres(session["id"])
        assert (await support.redis_seats(session["id"])).get(seat, "free") == "free"
        got = (await cash.http.get(f"/api/passes/{sold['id']}")).json()
        assert got["status"] == "refunded" and got["bookings"] == []
        result = await scan(admin, sold["code"], session_id=session["id"])
        assert (result["result"], result["reason"]) == ("refused", "refunded")
        code = await cash.http.get(f"/api/passes/{sold['id']}/code")
        assert code.json()["error"]["code"] == "pass_not_active"
        again = await cash.http.post(
            f"/api/journal/{receipt['id']}/refund", json={"register_session_id": rs}
        )
        assert (again.status_code, again.json()["error"]["code"]) == (409, "already_refunded")
        rebook = await cash.http.post(
            f"/api/passes/{sold['id']}/bookings", json={"session_id": session["id"]}
        )
        assert rebook.json()["error"]["code"] == "pass_not_active"
        entries = (await cash.http.get(f"/api/register-sessions/{rs}/journal")).json()["entries"]
        assert entries[0]["kind"] == "refund" and entries[0]["lines"][0]["pass_id"] == sold["id"]
        assert entries[0]["lines"][0]["quantity"] == -1
        assert await verify(register_id) is None
    finally:
        await cash.close()


async def test_a_pass_line_is_refunded_by_its_pass_id(server: ServerProcess, admin: Api) -> None:
    register_id = await new_register(admin)
    cash = await cashier(admin, server, "pos", "refund")
    try:
        kind = await pass_type(admin)
        rs = await open_session(cash, register_id)
        sold = (await sell(cash, rs, sale_body(kind["id"]))).json()
        url = f"/api/journal/{sold['receipt']['id']}/refund"
        wrong = await cash.http.post(url, json={"register_session_id": rs, "pass_ids": [1]})
        if sold["pass"]["id"] != 1:
            assert wrong.json()["error"]["code"] == "pass_not_in_sale"
        r = await cash.http.post(
            url, json={"register_session_id": rs, "pass_ids": [sold["pass"]["id"]]}
        )
        assert r.status_code == 201, r.text
        assert r.json()["passes"] == [sold["pass"]["id"]]
    finally:
        await cash.close()
