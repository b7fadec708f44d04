"""The e-shop page in a real headless Chromium: live seat map, holds, purchase, reconnect."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import BrowserContext, Page, WebSocketRoute, expect

from tests.browser import browser_context
from tests.support import Api, ServerProcess

LIVE_MS = 1000  # a change must show in other pages within a second
SLOW_MS = 5000  # page loads, reconnects, purchases

pytestmark = pytest.mark.browser


async def open_session(context: BrowserContext, server: ServerProcess, session_id: int) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{server.url}/#/session/{session_id}")
    await expect(page.get_by_test_id("live-status")).to_have_attribute(
        "data-status", "open", timeout=SLOW_MS
    )
    # the snapshot has been applied once every seat has a state
    await expect(page.locator('[data-testid="seat"]:not([data-state])')).to_have_count(0)
    await expect(page.locator('[data-testid="seat"][data-state="free"]').first).to_be_visible(
        timeout=SLOW_MS
    )
    return page


def seat(page: Page, seat_id: str):
    return page.locator(f'[data-testid="seat"][data-seat-id="{seat_id}"]')


async def test_hold_and_buy_show_live_in_another_page(server: ServerProcess, admin: Api) -> None:
    s = await admin.create_session(n_seats=60, per_row=12)
    target = s.seat_ids[15]
    async with browser_context() as context:
        a = await open_session(context, server, s.id)
        b = await open_session(context, server, s.id)
        await expect(seat(b, target)).to_have_attribute("data-state", "free")

        await seat(a, target).click()
        await expect(seat(a, target)).to_have_attribute("data-state", "mine", timeout=LIVE_MS)
        await expect(seat(b, target)).to_have_attribute("data-state", "held", timeout=LIVE_MS)
        await expect(a.get_by_test_id("cart-item")).to_have_count(1)
        await expect(a.get_by_test_id("hold-countdown")).to_have_text(re.compile(r"^(09|10):\d\d$"))
        await expect(b.get_by_test_id("cart-item")).to_have_count(0)

        # the other page cannot take it
        await seat(b, target).click(force=True)  # aria-disabled: Playwright would wait
        await expect(b.get_by_test_id("message").last).to_contain_text("held by another buyer")

        # cheaper tariff, then buy
        await a.get_by_test_id("tariff-select").select_option(str(s.tariff_ids[1]))
        await expect(a.get_by_test_id("cart-total")).to_have_text("€10.00")
        await a.get_by_test_id("buyer-name").fill("Ada Lovelace")
        await a.get_by_test_id("buyer-email").fill("ada@example.org")
        await a.get_by_test_id("buy").click()

        tickets = a.get_by_test_id("ticket")
        await expect(tickets).to_have_count(1, timeout=SLOW_MS)
        await expect(tickets.first).to_have_attribute("data-seat-id", target)
        await expect(tickets.first).to_contain_text("Reduced")
        await expect(a.get_by_test_id("order-total")).to_have_text("€10.00")
        await expect(seat(a, target)).to_have_attribute("data-state", "sold", timeout=LIVE_MS)
        await expect(seat(b, target)).to_have_attribute("data-state", "sold", timeout=LIVE_MS)
        await expect(a.get_by_test_id("cart-item")).to_have_count(0)

        await b.reload()
        await expect(seat(b, target)).to_have_attribute("data-state", "sold", timeout=SLOW_MS)
        await expect(b.locator('[data-testid="seat"][data-state="free"]')).to_have_count(59)
        assert a.errors == [] and b.errors == []  # type: ignore[attr-defined]


async def test_third_party_hold_and_release_and_own_hold_survives_reload(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=60, per_row=12)
    other, mine = s.seat_ids[3], s.seat_ids[30]
    async with browser_context() as context:
        page = await open_session(context, server, s.id)

        r = await buyer.hold(s.id, [other])
        assert r.status_code == 200, r.text
        await expect(seat(page, other)).to_have_attribute("data-state", "held", timeout=LIVE_MS)
        r = await buyer.http.delete(f"/api/sessions/{s.id}/holds/{r.json()['token']}")
        assert r.status_code == 200, r.text
        await expect(seat(page, other)).to_have_attribute("data-state", "free", timeout=LIVE_MS)

        # my own hold is restored from sessionStorage after a reload
        await seat(page, mine).click()
        await expect(seat(page, mine)).to_have_attribute("data-state", "mine", timeout=LIVE_MS)
        await page.reload()
        await expect(seat(page, mine)).to_have_attribute("data-state", "mine", timeout=SLOW_MS)
        await expect(page.get_by_test_id("cart-item")).to_have_attribute("data-seat-id", mine)

        # clicking it again releases it, for everybody
        await seat(page, mine).click()
        await expect(seat(page, mine)).to_have_attribute("data-state", "free", timeout=LIVE_MS)
        await expect(page.get_by_test_id("cart-item")).to_have_count(0)
        token = await page.evaluate(f"sessionStorage.getItem('guichet.hold.{s.id}')")
        assert token is None
        assert page.errors == []  # type: ignore[attr-defined]


async def test_seat_taken_meanwhile_shows_a_clear_message(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=60, per_row=12)
    target = s.seat_ids[20]
    async with browser_context() as context:
        page = await open_session(context, server, s.id)
        # Hold it over the API while this page's live feed is cut: the page still shows it
        # free, the click races someone else and loses.
        await page.evaluate("window.__guichet.live.close()")
        r = await buyer.hold(s.id, [target])
        assert r.status_code == 200, r.text
        await expect(seat(page, target)).to_have_attribute("data-state", "free")
        await seat(page, target).click()
        message = page.get_by_test_id("message").last
        await expect(message).to_contain_text("just taken by someone else", timeout=SLOW_MS)
        await expect(page.get_by_test_id("cart-item")).to_have_count(0)


async def test_websocket_reconnects_by_itself(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=60, per_row=12)
    async with browser_context() as context:
        page = await open_session(context, server, s.id)
        await page.evaluate("window.__old = window.__guichet.live.ws; window.__old.close()")
        await page.wait_for_function(
            "() => { const ws = window.__guichet.live.ws;"
            " return ws && ws !== window.__old && ws.readyState === WebSocket.OPEN; }",
            timeout=SLOW_MS,
        )
        r = await buyer.hold(s.id, [s.seat_ids[7]])
        assert r.status_code == 200, r.text
        await expect(seat(page, s.seat_ids[7])).to_have_attribute(
            "data-state", "held", timeout=SLOW_MS
        )

        # Changes made while disconnected arrive after the reconnect (resumed with `since`).
        await page.evaluate("window.__old = window.__guichet.live.ws; window.__old.close()")
        r = await buyer.hold(s.id, [s.seat_ids[8]])
        assert r.status_code == 200, r.text
        await expect(seat(page, s.seat_ids[8])).to_have_attribute(
            "data-state", "held", timeout=SLOW_MS
        )
        await expect(page.get_by_test_id("live-status")).to_have_attribute("data-status", "open")
        assert page.errors == []  # type: ignore[attr-defined]


async def test_general_admission_quantity_and_purchase(server: ServerProcess, admin: Api) -> None:
    s = await admin.create_session(seated=False, capacity=10)
    async with browser_context() as context:
        page = await context.new_page()
        await page.goto(f"{server.url}/#/session/{s.id}")
        await expect(page.get_by_test_id("ga-panel")).to_contain_text("10 places left")
        await page.get_by_test_id("ga-plus").click()
        await expect(page.get_by_test_id("ga-quantity")).to_have_text("1")
        await page.get_by_test_id("ga-plus").click()
        await expect(page.get_by_test_id("ga-quantity")).to_have_text("2")
        await expect(page.get_by_test_id("ga-panel")).to_contain_text("8 places left")
        await expect(page.get_by_test_id("cart-item")).to_have_count(2)
        await page.get_by_test_id("buyer-name").fill("Grace Hopper")
        await page.get_by_test_id("buyer-email").fill("grace@example.org")
        await page.get_by_test_id("buy").click()
        await expect(page.get_by_test_id("ticket")).to_have_count(2, timeout=SLOW_MS)
        await expect(page.get_by_test_id("order-total")).to_have_text("€30.00")
        await expect(page.get_by_test_id("ga-quantity")).to_have_text("0")


async def test_connection_badge_says_reconnecting_then_offline_then_live(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=24, per_row=12)
    async with browser_context() as context:
        page = await open_session(context, server, s.id)
        badge = page.get_by_test_id("live-status")
        await expect(badge).to_have_text("✓Live")

        # The live stream is refused from now on (Playwright stands in for the server's socket).
        allowed = {"now": False}

        async def gate(ws: WebSocketRoute) -> None:
            if allowed["now"]:
                ws.connect_to_server()
            else:
                await ws.close(code=1011, reason="down")

        await page.route_web_socket(re.compile(r"/ws$"), gate)
        await page.evaluate("window.__guichet.live.ws.close()")
        await expect(badge).to_have_attribute("data-status", "reconnecting", timeout=SLOW_MS)
        await expect(badge).to_contain_text("Reconnecting")
        # ... and it keeps saying so through the attempts, never "Connecting"
        for _ in range(6):
            await page.wait_for_timeout(250)
            await expect(badge).to_have_attribute("data-status", "reconnecting", timeout=10)

        await context.set_offline(True)
        await expect(badge).to_have_attribute("data-status", "closed", timeout=SLOW_MS)
        await expect(badge).to_contain_text("Offline")

        allowed["now"] = True
        await context.set_offline(False)
        await expect(badge).to_have_attribute("data-status", "open", timeout=SLOW_MS)
        await expect(badge).to_contain_text("Live")
        assert page.errors == []  # type: ignore[attr-defined]
