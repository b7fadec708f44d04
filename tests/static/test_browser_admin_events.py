"""The back office's sessions page in a real headless Chromium, at phone width: an organiser
creates a session and two tariffs bound to two seat categories, blocks a seat on the live
map (its socket signed in with the session cookie), then signs out from the shared header;
the shop then offers each seat only the tariffs of its category."""

from __future__ import annotations

import pytest
from playwright.async_api import expect

from seatmap.generate import grid
from seatmap.plan import plan_to_document
from tests.browser import browser_context, sign_in
from tests.static.staff_pages import new_staff, no_horizontal_scroll, watch_errors
from tests.static.test_browser_shop import SLOW_MS, open_session, seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

PHONE = (390, 844)


async def test_an_organiser_binds_tariffs_to_categories_and_the_shop_follows(
    server: ServerProcess, admin: Api
) -> None:
    venue = (await admin.http.post("/api/venues", json={"name": "Browser venue"})).json()
    room = (
        await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "Salle 2"})
    ).json()
    plan = grid(20, 10)  # row A is Premium, row B Standard
    r = await admin.http.put(f"/api/rooms/{room['id']}/seat-plan", json=plan_to_document(plan))
    assert r.status_code == 201, r.text
    premium_seat, standard_seat = plan.seats[0].id, plan.seats[10].id
    organiser = await new_staff(admin, "admin")  # her own language, not the shared admin's

    async with browser_context(*PHONE) as context:
        await sign_in(context, server.url, organiser["username"], organiser["password"])
        page = await context.new_page()
        errors = watch_errors(page)
        # the staff home lists the catalogue pages for an organiser
        await page.goto(f"{server.url}/staff.html")
        await expect(page.get_by_test_id("page-rooms")).to_have_attribute(
            "href", "/admin-rooms.html", timeout=SLOW_MS
        )
        await page.get_by_test_id("page-events").click()
        await page.wait_for_url(f"{server.url}/admin-events.html")
        await expect(page.get_by_test_id("signed-in-as")).to_contain_text(
            organiser["username"], timeout=SLOW_MS
        )
        await expect(page.get_by_test_id("session-table")).to_be_visible()
        await expect(page.locator("html")).to_have_attribute("lang", "fr")  # hers, by default
        await page.get_by_test_id("language").select_option("en")  # the texts below are English
        await expect(page.get_by_test_id("new-session")).to_have_text("New session")
        await no_horizontal_scroll(page)
        await page.get_by_test_id("new-session").click()
        form = page.get_by_test_id("new-session-form")
        await expect(form).to_be_visible(timeout=SLOW_MS)
        await page.get_by_test_id("new-room").select_option(str(room["id"]))
        await page.get_by_test_id("new-name").fill("Le Misanthrope (browser)")
        await form.get_by_label("Sell online after the start").check()
        await page.get_by_test_id("create-session").click()

        await expect(page.get_by_test_id("session-title")).to_have_text(
            "Le Misanthrope (browser)", timeout=SLOW_MS
        )
        await expect(page.get_by_role("tab", name="Tariffs")).to_have_attribute(
            "aria-selected", "true"
        )
        session_id = int(page.url.split("#/session/")[1].split("/")[0])
        created = (await admin.http.get(f"/api/sessions/{session_id}")).json()
        assert created["sell_online_after_start"] is True
        await expect(page.get_by_test_id("edit-online-after-start")).to_be_checked()
        for name, price, category, note in (
            ("Carré or", "40", "Premium", "front rows"),
            ("Étudiant", "12,50", "Standard", "student card checked at the door"),
        ):
            await page.get_by_test_id("tariff-name").fill(name)
            await page.get_by_test_id("tariff-price").fill(price)
            await page.get_by_test_id("tariff-tax").fill("5.5")
            await page.get_by_role("checkbox", name=category).check()
            await page.get_by_test_id("tariff-note-input").fill(note)
            await page.get_by_test_id("tariff-save").click()
            await expect(page.get_by_test_id("tariff-item").filter(has_text=name)).to_be_visible()
        await expect(page.get_by_test_id("tariff-item")).to_have_count(2)
        blocked_seat = plan.seats[5].id
        await page.get_by_role("tab", name="Contingents").click()
        blocked = page.locator(f'[data-testid="seat"][data-seat-id="{blocked_seat}"]')
        await expect(blocked).to_have_attribute("data-state", "free", timeout=SLOW_MS)
        await blocked.click()
        await expect(page.get_by_test_id("block-status")).to_contain_text("blocked")
        await expect(blocked).to_have_attribute("data-state", "unavailable", timeout=SLOW_MS)
        connection = page.get_by_test_id("connection")
        await expect(connection).to_have_attribute("data-status", "open")
        await expect(connection).to_contain_text("Live")  # words, not a colour alone
        press = f"{plan.seats[0].id} {plan.seats[1].id}"
        await page.get_by_test_id("contingent-lines").fill(f"Press = {press}")
        await page.get_by_test_id("contingent-save").click()
        await expect(page.locator("#contingent-list")).to_contain_text("Press · 2 places")
        await no_horizontal_scroll(page)

        # signing out from the shared header lands on the sign-in page, and the page is shut
        await page.get_by_test_id("sign-out").click()
        await page.wait_for_url(f"{server.url}/signin.html", timeout=SLOW_MS)
        await page.goto(f"{server.url}/admin-events.html")
        await page.wait_for_url(f"{server.url}/signin.html?next=**", timeout=SLOW_MS)
        assert errors == []

    detail = (await admin.http.get(f"/api/sessions/{session_id}")).json()
    tariffs = {t["name"]: t for t in detail["tariffs"]}
    assert tariffs["Carré or"]["categories"] == ["Premium"]
    assert tariffs["Étudiant"]["categories"] == ["Standard"]
    assert tariffs["Étudiant"]["price_cents"] == 1250
    assert tariffs["Étudiant"]["tax_rate_bp"] == 550

    async with browser_context() as context:
        shop = await open_session(context, server, session_id)
        await seat(shop, premium_seat).click()
        await expect(shop.get_by_test_id("cart-item")).to_have_count(1, timeout=SLOW_MS)
        await seat(shop, standard_seat).click()
        await expect(shop.get_by_test_id("cart-item")).to_have_count(2, timeout=SLOW_MS)
        premium_line = shop.locator(f'[data-testid="cart-item"][data-seat-id="{premium_seat}"]')
        standard_line = shop.locator(f'[data-testid="cart-item"][data-seat-id="{standard_seat}"]')
        premium_options = premium_line.get_by_test_id("tariff-select").locator("option")
        standard_options = standard_line.get_by_test_id("tariff-select").locator("option")
        await expect(premium_options).to_have_count(1)
        await expect(premium_options).to_contain_text("Carré or")
        await expect(standard_options).to_have_count(1)
        await expect(standard_options).to_contain_text("Étudiant")
        await expect(standard_line.get_by_test_id("tariff-note")).to_have_text(
            "student card checked at the door"
        )
        await shop.get_by_test_id("buyer-name").fill("Ada")
        await shop.get_by_test_id("buyer-email").fill("ada@example.org")
        await shop.get_by_test_id("buy").click()
        await expect(shop.get_by_test_id("order-confirmation")).to_be_visible(timeout=SLOW_MS)
        assert shop.errors == []  # type: ignore[attr-defined]
