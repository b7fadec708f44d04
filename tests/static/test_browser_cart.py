"""The cart across sessions in a real Chromium at a phone's width: seats of two sessions
(one at a reduced tariff, its eligibility note shown) and an article in one cart under one
countdown, paid once with the TEST provider; the order page shows all of it."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser import browser_context
from tests.shop.helpers import online_article, stock
from tests.static.test_browser_shop import SLOW_MS, open_session, seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser
CLOCK = re.compile(r"^\d\d:\d\d$")


async def pick_and_add(page: Page, seat_id: str) -> None:
    await seat(page, seat_id).click()
    await expect(seat(page, seat_id)).to_have_attribute("data-state", "mine", timeout=SLOW_MS)
    await page.get_by_test_id("add-to-cart").click()
    await expect(page.get_by_test_id("cart-strip")).to_be_visible(timeout=SLOW_MS)


async def test_seats_of_two_sessions_and_an_article_are_paid_once_on_a_phone(
    paying_server: ServerProcess, admin: Api
) -> None:
    first = await admin.create_session(n_seats=20)
    second = await admin.create_session(n_seats=20)
    reduced = second.tariff_ids[1]
    note = {"note": "student card checked at the door"}
    r = await admin.http.patch(f"/api/tariffs/{reduced}", json=note)
    assert r.status_code == 200, r.text
    programme = await online_article(admin, stock=4, price_cents=700)
    async with browser_context(width=390, height=844, has_touch=True, is_mobile=True) as context:
        page = await open_session(context, paying_server, first.id)
        await pick_and_add(page, first.seat_ids[2])
        await expect(page.get_by_test_id("strip-countdown")).to_have_text(CLOCK)

        await page.goto(f"{paying_server.url}/#/session/{second.id}")
        await expect(seat(page, second.seat_ids[5])).to_have_attribute(
            "data-state", "free", timeout=SLOW_MS
        )
        await seat(page, second.seat_ids[5]).click()
        await expect(seat(page, second.seat_ids[5])).to_have_attribute(
            "data-state", "mine", timeout=SLOW_MS
        )
        await page.get_by_test_id("tariff-select").select_option(str(reduced))
        await page.get_by_test_id("add-to-cart").click()
        await expect(page.get_by_test_id("strip-total")).to_contain_text("25", timeout=SLOW_MS)

        await page.get_by_test_id("strip-open").click()
        await expect(page.get_by_test_id("cart-session")).to_have_count(2, timeout=SLOW_MS)
        await expect(page.get_by_test_id("seatmap-container")).to_be_hidden()
        await expect(page.get_by_test_id("cart-note")).to_contain_text("student card")
        offer = page.locator(f'[data-testid="article-offer"][data-article-id="{programme["id"]}"]')
        await offer.get_by_role("button").click()
        await expect(page.get_by_test_id("cart-article")).to_have_count(1, timeout=SLOW_MS)
        await expect(page.get_by_test_id("cart-page-total")).to_contain_text("32")
        await expect(page.get_by_test_id("cart-countdown")).to_have_text(CLOCK)
        await page.get_by_test_id("cart-buyer-name").fill("Ada Lovelace")
        await page.get_by_test_id("cart-buyer-email").fill("ada.cart@example.org")
        await page.get_by_test_id("cart-pay").click()

        await expect(page.get_by_test_id("test-banner")).to_be_visible(timeout=SLOW_MS)
        await expect(page.get_by_test_id("test-amount")).to_have_text("32.00 EUR")
        await page.get_by_test_id("pay-success").click()

        order_page = page.get_by_test_id("order-page")
        await expect(order_page).to_have_attribute("data-status", "confirmed", timeout=SLOW_MS)
        tickets = page.get_by_test_id("order-ticket")
        await expect(tickets).to_have_count(2)
        await expect(page.get_by_test_id("ticket-qr")).to_have_count(2)
        sessions = page.get_by_test_id("ticket-session")
        await expect(sessions.nth(0)).to_contain_text(first.detail["event_name"])
        await expect(sessions.nth(1)).to_contain_text(second.detail["event_name"])
        product = page.get_by_test_id("order-product")
        await expect(product).to_contain_text("Programme")
        await expect(product).to_contain_text("7.00")
        await expect(page.get_by_test_id("order-page")).not_to_contain_text("null")
        assert page.errors == []  # type: ignore[attr-defined]
    assert await stock(programme["id"]) == 3
