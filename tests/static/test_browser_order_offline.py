"""The order page as an installed PWA at the door: opened once online, it opens again offline
(service worker sw.js) with its QR codes, which still decode."""

from __future__ import annotations

import io

import pytest
import zxingcpp
from PIL import Image
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import expect

from tests.browser import browser_context
from tests.static.test_browser_shop import SLOW_MS
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser


async def test_the_order_page_and_its_qr_codes_open_offline(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)  # provider none: sold at once
    hold = await buyer.hold(s.id, s.seat_ids[:2])
    assert hold.status_code == 200, hold.text
    r = await buyer.buy(s.id, hold.json()["token"], s.seat_ids[:2], s.tariff_ids[0])
    assert r.status_code == 201, r.text
    link = r.json()["link"]

    async with browser_context(width=412, height=915) as context:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        manifest = await page.request.get(f"{server.url}/manifest.webmanifest")
        assert manifest.ok and (await manifest.json())["start_url"] == "/"
        await page.goto(f"{server.url}/order.html#{link}")
        view = page.get_by_test_id("order-page")
        await expect(view).to_have_attribute("data-status", "confirmed", timeout=SLOW_MS)
        await expect(view).to_have_attribute("data-offline", "ready", timeout=SLOW_MS)

        await context.set_offline(True)
        await page.reload()
        await expect(view).to_have_attribute("data-status", "confirmed", timeout=SLOW_MS)
        qr = page.get_by_test_id("ticket-qr")
        await expect(qr).to_have_count(2)
        for i in range(2):
            await expect(qr.nth(i)).to_be_visible()
            loaded = await qr.nth(i).evaluate("(img) => img.complete && img.naturalWidth > 0")
            assert loaded, f"QR code {i} did not load offline"
        shot = await qr.first.screenshot()
        (decoded,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(shot)).convert("L"))
        assert decoded.text.startswith("GQ")

        # a page the worker does not keep really is offline (nothing else is served stale)
        shop = await context.new_page()
        with pytest.raises(PlaywrightError, match="ERR_INTERNET_DISCONNECTED"):
            await shop.goto(f"{server.url}/index.html")
        await context.set_offline(False)
        assert errors == []
