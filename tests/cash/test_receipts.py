"""Receipts as PDF: the journalled figures of a desk sale, on an 80 mm roll or A4; only the
register session's cashier (or a supervisor) gets them."""

from __future__ import annotations

from tests.cash.helpers import cashier, desk_sale, new_register, open_session
from tests.support import Api, ServerProcess


async def test_a_desk_sale_has_a_pdf_receipt_with_its_journalled_figures(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=10)
    register = await new_register(admin)
    cash = await cashier(admin, server)
    other = await cashier(admin, server)
    try:
        rs = await open_session(cash, register)
        paid = [{"method": "cash", "amount_cents": 3000, "given_cents": 5000}]
        sold = await desk_sale(cash, s, rs, s.seat_ids[:2], paid)
        assert sold.status_code == 201, sold.text
        entries = (await cash.http.get(f"/api/register-sessions/{rs}/journal")).json()["entries"]
        sale = next(e for e in entries if e["kind"] == "sale")
        # each ticket line says where to sit, whichever browser reprints it
        assert [(ln["ticket"]["row"], ln["ticket"]["seat"]) for ln in sale["lines"]] == [
            ("A", "1"),
            ("A", "2"),
        ]
        assert {ln["ticket"]["event"] for ln in sale["lines"]} == {s.detail["event_name"]}
        for paper in ("80mm", "a4"):
            r = await cash.http.get(f"/api/journal/{sale['id']}/receipt.pdf?paper={paper}")
            assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
            assert r.content.startswith(b"%PDF-")
            text = r.content.decode("latin-1")
            assert f"Receipt no. {sale['receipt_no']}" in text
            assert "30,00" in text and "20,00" in text  # the total, and the change of 50.00
            assert text.count("1 x Full") == 2  # a line per ticket, as journalled
            assert "Rang / Row A, place / seat 2" in text
        bad = await cash.http.get(f"/api/journal/{sale['id']}/receipt.pdf?paper=a5")
        assert bad.json()["error"]["code"] == "invalid_field"
        refused = await other.http.get(f"/api/journal/{sale['id']}/receipt.pdf")
        assert refused.json()["error"]["code"] == "not_your_register_session"
        assert (await admin.http.get(f"/api/journal/{sale['id']}/receipt.pdf")).status_code == 200
    finally:
        await cash.close()
        await other.close()
