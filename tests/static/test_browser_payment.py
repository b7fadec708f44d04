"""From the shop to the door in a real Chromium: pick a seat, pay with the TEST provider,
get the e-mail, open the order page, decode its QR code and scan it at the door."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import expect

from tests.browser import browser_context
from tests.conftest import SmtpSink
from tests.door.test_door_api import door_session, scan
from tests.static.test_browser_shop import SLOW_MS, open_session, seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser


async def test_a_buyer_pays_gets_the_email_and_enters_with_the_qr_code(
    paying_server: ServerProcess, admin: Api, smtp_sink: SmtpSink
) -> None:
    session = await door_session(admin)  # starts in half an hour: its codes are valid now
    target = session["free_seats"][3]
    async with browser_context(width=412, height=915) as context:  # a phone's size
        page = await open_session(context, paying_server, session["id"])
        await seat(page, target).click()
        await expect(seat(page, target)).to_have_attribute("data-state", "mine", timeout=SLOW_MS)
        await page.get_by_test_id("buyer-name").fill("Ada Lovelace")
        await page.get_by_test_id("buyer-email").fill("ada.pays@example.org")
        await page.get_by_test_id("buy").click()

        # the TEST provider's hosted page, clearly marked as such
        await expect(page.get_by_test_id("test-banner")).to_be_visible(timeout=SLOW_MS)
        await expect(page.get_by_test_id("test-amount")).to_have_text("15.00 EUR")
        await page.get_by_test_id("pay-success").click()

        # back on the order page: confirmed, one ticket with its QR code
        order_page = page.get_by_test_id("order-page")
        await expect(order_page).to_have_attribute("data-status", "confirmed", timeout=SLOW_MS)
        ticket = page.get_by_test_id("order-ticket")
        await expect(ticket).to_have_count(1)
        await expect(ticket).to_have_attribute("data-seat-id", target)
        await expect(ticket).to_contain_text("Full")
        qr = page.get_by_test_id("ticket-qr")
        await expect(qr).to_be_visible()
        await expect(page.get_by_test_id("tickets-pdf")).to_be_visible()
        link = page.url.split("#", 1)[1]

        # the e-mail carries the same private link and the tickets as a PDF
        message = await smtp_sink.wait_for("ada.pays@example.org")
        assert f"/order.html#{link}" in message.get_body(("plain",)).get_content()
        assert [a.get_content_type() for a in message.iter_attachments()] == ["application/pdf"]

        # what the buyer shows at the door: the QR code as the page draws it
        shot = await qr.screenshot()
        (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)).convert("L"))
        assert decoded.text.startswith("GQ")
        # the same code opens the ticket's wallet page (in the fragment, never the query)
        wallet = page.get_by_test_id("ticket-wallet")
        href = await wallet.get_attribute("href")
        assert href is not None and href.startswith("/wallet.html#code=GQ")
        pdf = await page.request.get(f"{paying_server.url}/api/orders/by-link/{link}/tickets.pdf")
        assert pdf.ok and (await pdf.body()).startswith(b"%PDF")
        assert page.errors == []  # type: ignore[attr-defined]

    first = await scan(admin, decoded.text, door="north")
    assert first["result"] == "valid", first
    again = await scan(admin, decoded.text, door="south")
    assert (again["result"], again["reason"]) == ("refused", "already_entered")
