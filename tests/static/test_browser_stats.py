"""The statistics page in a real headless Chromium at a phone's width: a member of staff
with the ``stats`` role watches a session's room; a sale at the desk and a scan at the door
move its figures and its charts without a reload, in French then English."""

from __future__ import annotations

import asyncio
import re
import time
from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Locator, expect

from tests.accounting.stats_helpers import desk_sale, enter, started_session
from tests.browser import browser_context
from tests.static.staff_pages import (
    SLOW_MS,
    new_staff,
    no_horizontal_scroll,
    sign_in_on_page,
    watch_errors,
)
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

LIVE_MS = 10000  # the feed re-reads every 3 s


async def pixels(chart: Locator) -> bytes:
    """The chart's picture. New figures redraw the page's sections, so the element can be
    replaced while it is being shot: shoot the new one then."""
    for _ in range(20):
        try:
            return await chart.screenshot()
        except PlaywrightError as error:
            if "not attached" not in str(error):
                raise
            await asyncio.sleep(0.1)
    raise AssertionError("the chart was redrawn without rest for 2 s")


async def redrawn(chart: Locator, before: bytes) -> None:
    """Wait until the chart's pixels differ from ``before`` (its summary in words may name
    another room when the suite's other sessions fill the period)."""
    deadline = time.monotonic() + LIVE_MS / 1000
    while await pixels(chart) == before:
        assert time.monotonic() < deadline, "the chart did not move"
        await asyncio.sleep(0.25)


async def test_a_sale_and_a_scan_move_the_charts(server: ServerProcess, admin: Api) -> None:
    day = await started_session(admin, "Browser stats")
    watcher = await new_staff(admin, "stats")
    async with browser_context(width=390, height=844) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(
            page, server.url, watcher["username"], watcher["password"], "/stats.html"
        )
        await page.get_by_test_id("st-from").fill(
            (day.starts_at - timedelta(days=1)).date().isoformat()
        )
        await page.get_by_test_id("st-to").fill(
            (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
        )
        await page.get_by_test_id("st-show").click()
        room = page.locator(f'[data-testid="row-room"][data-room="{day.room_id}"]')
        cells = room.locator("td")
        await expect(cells.nth(2)).to_have_text("0", timeout=SLOW_MS)  # sold
        await expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-status", "open", timeout=SLOW_MS
        )
        chart = page.get_by_test_id("chart-room")
        await expect(chart.locator("canvas")).to_have_count(1)
        label = await chart.get_attribute("aria-label")
        assert label and label.startswith("Par salle")
        before = await pixels(chart)

        desk = await desk_sale(admin, server, day)
        await desk.close()
        await expect(cells.nth(2)).to_have_text("2", timeout=LIVE_MS)
        await expect(cells.nth(4)).to_contain_text("20")  # occupancy: 2 of 10
        await redrawn(chart, before)  # the room's bar grew (whatever the other rooms)
        await expect(page.get_by_test_id("st-fresh")).to_contain_text("en direct")
        over_time = page.locator('[data-testid="row-over-time"][data-channel="desk"]')
        await expect(over_time.first).to_be_visible()
        await expect(page.get_by_test_id("chart-over-time").locator("canvas")).to_have_count(1)

        await enter(admin, day.desk_tickets[0])
        await expect(cells.nth(3)).to_have_text("1", timeout=LIVE_MS)  # entered
        await expect(cells.nth(5)).to_contain_text("50")  # attendance: 1 of 2
        row = page.locator(f'[data-testid="row-no-shows"][data-session="{day.session_id}"]')
        await expect(row.locator("td").nth(4)).to_have_text("1")  # one no-show
        await no_horizontal_scroll(page)

        await page.get_by_test_id("language").select_option("en")
        await expect(page.locator("#st-h-room")).to_have_text("By room")
        await expect(chart).to_have_attribute("aria-label", re.compile(r"^By room"))
        await expect(page.get_by_test_id("st-fresh")).to_contain_text("updated live")
        await no_horizontal_scroll(page)
        assert errors == []
