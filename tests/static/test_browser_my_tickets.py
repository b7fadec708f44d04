"""My tickets in a real Chromium at a phone's width: from the shop's link, a buyer asks for
a sign-in link, reads it in the mail the real SMTP sink received, opens it and sees both of
their orders (each state in words, not colour alone) and not another buyer's; each order
opens its private page; signing out closes the link."""

from __future__ import annotations

import uuid

import pytest
from playwright.async_api import expect

from tests.browser import browser_context
from tests.conftest import SmtpSink
from tests.payments.support import choose, pending_order
from tests.payments.test_my_tickets import link_in_mail
from tests.shop.helpers import (
    add_article,
    add_pass,
    checkout,
    new_cart,
    online_article,
    online_pass_type,
)
from tests.static.test_browser_shop import SLOW_MS
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser


async def test_a_buyer_signs_in_by_mail_and_sees_their_orders_only(
    paying_server: ServerProcess, admin: Api, smtp_sink: SmtpSink
) -> None:
    s = await admin.create_session(n_seats=20)
    shopper = Api(paying_server.url)
    mine = f"lin-{uuid.uuid4().hex[:8]}@example.org"
    try:
        paid = await pending_order(shopper, s, s.seat_ids[:2], mine)
        await choose(shopper, paid, "success")
        waiting = await pending_order(shopper, s, s.seat_ids[2:3], mine)
        theirs = await pending_order(shopper, s, s.seat_ids[3:4], "someone-else@example.org")
        cart = await new_cart(shopper)  # a pass and an article: an order without a session
        await add_pass(shopper, cart, (await online_pass_type(admin))["id"])
        await add_article(shopper, cart, (await online_article(admin, stock=3))["id"], 1)
        products = (await checkout(shopper, cart, email=mine)).json()
    finally:
        await shopper.close()

    async with browser_context(width=390, height=844) as context:  # a phone
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(paying_server.url + "/")
        await page.get_by_test_id("my-tickets-link").click()
        await expect(page.get_by_test_id("my-tickets")).to_have_attribute("data-state", "ask")
        before = len(smtp_sink.messages)
        await page.get_by_test_id("mine-email").fill(mine)
        await page.get_by_test_id("mine-send").click()
        await expect(page.get_by_test_id("my-tickets")).to_have_attribute(
            "data-state", "sent", timeout=SLOW_MS
        )
        await expect(page.get_by_test_id("mine-notice")).to_contain_text("30")

        link = await link_in_mail(smtp_sink, mine, before)
        await page.goto(f"{paying_server.url}/my-tickets.html#{link}")
        orders = page.get_by_test_id("mine-order")
        await expect(orders).to_have_count(3, timeout=SLOW_MS)
        ids = {await o.get_attribute("data-order-id") for o in await orders.all()}
        assert ids == {str(paid["id"]), str(waiting["id"]), str(products["id"])}
        assert str(theirs["id"]) not in ids
        paid_item = page.locator(f'[data-order-id="{paid["id"]}"]')
        await expect(paid_item.get_by_test_id("mine-status")).to_have_text(
            "✓ Paid" if await page.evaluate("document.documentElement.lang") == "en" else "✓ Payée"
        )
        await expect(paid_item).to_contain_text(s.detail["event_name"])
        english = await page.evaluate("document.documentElement.lang") == "en"
        products_item = page.locator(f'[data-order-id="{products["id"]}"]')
        await expect(products_item).to_contain_text(
            "Passes and articles" if english else "Abonnements et articles"
        )
        await expect(products_item).to_contain_text(
            "2 pass(es) or article(s)" if english else "2 abonnement(s) ou article(s)"
        )
        width = await page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390  # nothing wider than the phone

        await paid_item.get_by_test_id("mine-open").click()
        await expect(page.get_by_test_id("order-page")).to_have_attribute(
            "data-status", "confirmed", timeout=SLOW_MS
        )
        await expect(page.get_by_test_id("order-ticket")).to_have_count(2)

        await page.goto(f"{paying_server.url}/my-tickets.html#{link}")
        await page.get_by_test_id("mine-sign-out").click()
        await expect(page.get_by_test_id("my-tickets")).to_have_attribute("data-state", "ask")
        await page.goto(f"{paying_server.url}/my-tickets.html#{link}")
        await expect(page.get_by_test_id("mine-notice")).to_be_visible(timeout=SLOW_MS)
        await expect(page.get_by_test_id("mine-order")).to_have_count(0)
        assert errors == []
