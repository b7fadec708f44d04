"""The cash desk's Billets tab beyond one kind of goods (pos.html in headless Chromium): a
basket of a seat and articles paid once with one receipt, an unpaid reservation booked at
the desk then found and paid there, and the calendar of advance sales."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

import pytest
from playwright.async_api import expect

from tests.articles.helpers import article, stock_of
from tests.browser import browser_context
from tests.door.test_door_api import db_fetch
from tests.static.staff_pages import SLOW_MS, no_horizontal_scroll
from tests.static.test_browser_pos import cashier_page, euros, new_cashier, new_register
from tests.static.test_browser_shop import seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

LIVE_MS = 3000


async def test_a_seat_and_two_articles_are_paid_once_on_one_receipt(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=10, per_row=10)
    pos_id, register_id, _ = await new_register(admin)
    beer = await article(admin, name="Bière blonde", point_of_sale_id=pos_id, stock=5)
    programme = await article(
        admin, name="Programme du soir", price_cents=300, tax_rate_bp=550, stock=10
    )
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1200) as context:
        desk = await cashier_page(context, server, username, register_id)
        await expect(desk.get_by_test_id("tab-articles")).to_be_visible(timeout=SLOW_MS)
        await desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]').click()
        picked = s.seat_ids[3]
        await expect(seat(desk, picked)).to_have_attribute("data-state", "free", timeout=SLOW_MS)
        await seat(desk, picked).click()
        await expect(seat(desk, picked)).to_have_attribute("data-state", "mine", timeout=LIVE_MS)
        picker = desk.get_by_test_id("basket-article")
        for item in (beer, programme):
            await picker.focus()
            await picker.select_option(str(item["id"]))
            await desk.get_by_test_id("basket-article-add").click()
        await expect(desk.get_by_test_id("basket-article-line")).to_have_count(2)
        sell = desk.locator("#panel-sell")
        await expect(sell.get_by_test_id("pay-total")).to_have_text(euros("23,00"))
        await sell.get_by_test_id("given-exact").click()
        receipt = desk.get_by_test_id("receipt")
        await expect(receipt).to_be_visible(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("receipt-line")).to_have_count(3)
        await expect(desk.get_by_test_id("receipt-seat")).to_have_count(1)
        await expect(receipt).to_contain_text("Bière blonde")
        await expect(receipt).to_contain_text("Programme du soir")
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("23,00"))
        assert await stock_of(beer["id"]) == 4
        assert await stock_of(programme["id"]) == 9
        # the Articles tab shows the new level too (live)
        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("tab-articles").click()
        level = desk.locator(f'[data-testid="article"][data-article-id="{beer["id"]}"]')
        await expect(level.get_by_test_id("stock")).to_have_attribute(
            "data-stock", "4", timeout=LIVE_MS
        )
        assert desk.errors == []  # type: ignore[attr-defined]


async def test_a_reservation_made_at_the_desk_is_found_and_paid_there(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=10, per_row=10)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1200) as context:
        desk = await cashier_page(context, server, username, register_id)
        await desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]').click()
        picked = s.seat_ids[5]
        await expect(seat(desk, picked)).to_have_attribute("data-state", "free", timeout=SLOW_MS)
        await seat(desk, picked).click()
        await expect(desk.get_by_test_id("basket-item")).to_have_count(1, timeout=SLOW_MS)
        await desk.get_by_test_id("reserve-open").click()
        await desk.get_by_test_id("reserve-name").fill("Marguerite Duras")
        await desk.get_by_test_id("reserve-submit").click()
        summary = desk.get_by_test_id("reservation-summary")
        await expect(summary).to_be_visible(timeout=SLOW_MS)
        order_id = await summary.get_attribute("data-order-id")
        assert order_id
        await expect(desk.get_by_test_id("reservation-no")).to_contain_text(order_id)
        await expect(desk.get_by_test_id("reservation-due")).to_have_text(euros("15,00"))
        await expect(desk.get_by_test_id("reservation-line")).to_have_count(1)
        await expect(summary).to_contain_text("Marguerite Duras")
        kind = await db_fetch("SELECT kind FROM orders WHERE id = $1", int(order_id))
        assert [dict(r) for r in kind] == [{"kind": "reservation"}]

        # later: found by name, paid in cash at the register
        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("sell-back").click()
        await desk.get_by_test_id("reservation-search").fill("duras")
        await desk.get_by_test_id("reservation-find").click()
        found = desk.locator(f'[data-testid="reservation"][data-order-id="{order_id}"]')
        await expect(found).to_be_visible(timeout=SLOW_MS)
        await found.get_by_test_id("reservation-pay").click()
        await expect(found.get_by_test_id("pay-total")).to_have_text(euros("15,00"))
        await found.get_by_test_id("given-exact").click()
        receipt = desk.get_by_test_id("receipt")
        await expect(receipt).to_be_visible(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("15,00"))
        await expect(desk.get_by_test_id("receipt-line")).to_have_count(1)

        # the Last sales tab shows the sale; the order is a sale now
        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("tab-journal").click()
        sales = desk.locator('[data-testid="journal-entry"][data-kind="sale"]')
        await expect(sales).to_have_count(1, timeout=SLOW_MS)
        await expect(sales.get_by_test_id("journal-line")).to_have_count(1)
        rows = await db_fetch(
            "SELECT o.kind, j.kind AS entry FROM orders o JOIN journal j ON j.order_id = o.id"
            " WHERE o.id = $1",
            int(order_id),
        )
        assert [dict(r) for r in rows] == [{"kind": "sale", "entry": "sale"}]
        assert desk.errors == []  # type: ignore[attr-defined]


async def test_the_calendar_picks_a_future_days_session_at_a_phones_width(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=30)
    today = datetime.now(UTC).date()
    day = today + timedelta(days=35)
    if day.day == 1:
        day += timedelta(days=1)
    starts = datetime.combine(day, time(12, 0), UTC)
    times = {"starts_at": starts.isoformat(), "ends_at": (starts + timedelta(hours=2)).isoformat()}
    r = await admin.http.patch(f"/api/sessions/{s.id}", json=times)
    assert r.status_code == 200, r.text
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(390, 844) as context:
        desk = await cashier_page(context, server, username, register_id)
        await desk.get_by_test_id("calendar-open").click()
        await expect(desk.get_by_test_id("calendar-day").first).to_be_visible(timeout=SLOW_MS)
        for _ in range((day.year - today.year) * 12 + day.month - today.month):
            await desk.get_by_test_id("calendar-next").click()
        target = desk.locator(f'[data-testid="calendar-day"][data-date="{day.isoformat()}"]')
        await expect(target).to_have_attribute("data-count", "1", timeout=SLOW_MS)
        await expect(target).to_have_attribute("aria-label", re.compile(r"1 séance"))
        # the keyboard: from the day before, → then Enter
        before = (day - timedelta(days=1)).isoformat()
        await desk.locator(f'[data-testid="calendar-day"][data-date="{before}"]').focus()
        await desk.keyboard.press("ArrowRight")
        await expect(target).to_be_focused()
        await desk.keyboard.press("Enter")
        tile = desk.locator(f'[data-testid="calendar-session"][data-session-id="{s.id}"]')
        await expect(tile).to_be_visible(timeout=SLOW_MS)
        await tile.scroll_into_view_if_needed()
        await expect(tile.get_by_test_id("gauge")).to_have_attribute(
            "data-free", "30", timeout=SLOW_MS
        )
        await no_horizontal_scroll(desk)
        await tile.click()
        await expect(desk.get_by_test_id("sell-title")).to_have_text(s.detail["event_name"])
        await expect(desk.get_by_test_id("quick-tariff").first).to_be_visible()
        assert desk.errors == []  # type: ignore[attr-defined]
