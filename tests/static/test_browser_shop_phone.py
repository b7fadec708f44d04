"""The e-shop's seat map on a phone, in a real headless Chromium: zoom (buttons, pinch, Ctrl +
wheel), pan without buying, tap targets once zoomed, no tooltip left after a tap, and the
basket summary with the hold's countdown kept on screen."""

from __future__ import annotations

import re

import pytest
from playwright.async_api import Page, expect

from tests.browser import browser_context
from tests.static.test_browser_shop import SLOW_MS, open_session, seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844, "has_touch": True, "is_mobile": True}


async def zoom(page: Page) -> float:
    return float(await page.get_by_test_id("seat-map").get_attribute("data-zoom") or "0")


async def pinch(page: Page, x: float, y: float, start: float, end: float) -> None:
    """Two fingers from `start` to `end` pixels apart around (x, y), by CDP touch events."""
    cdp = await page.context.new_cdp_session(page)

    def points(d: float) -> list[dict[str, float]]:
        return [{"x": x - d / 2, "y": y, "id": 1}, {"x": x + d / 2, "y": y, "id": 2}]

    await cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": points(start)})
    for k in range(1, 11):
        d = start + (end - start) * k / 10
        await cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": points(d)})
    await cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    await cdp.detach()


async def test_zoom_to_tap_size_then_tap_a_seat_with_the_basket_on_screen(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=600, per_row=30)
    async with browser_context(**PHONE) as context:
        page = await open_session(context, server, s.id)
        target = seat(page, s.seat_ids[45])  # row 2, middle
        small = await target.bounding_box()
        assert small and small["width"] < 24  # a whole room on a phone: too small to tap

        zoom_in = page.get_by_test_id("zoom-in")
        while await zoom_in.is_enabled():
            await zoom_in.click()
        # the seat now under the map's centre
        seat_id = await page.evaluate(
            """() => { const b = document.querySelector('[data-testid="seat-map"]')
                .getBoundingClientRect();
              for (let dx = 0; dx < 40; dx += 2) {
                const x = b.left + b.width / 2 + dx, y = b.top + b.height / 2;
                const el = document.elementFromPoint(x, y);
                if (el && el.dataset.seatId) return el.dataset.seatId;
              } return null; }"""
        )
        assert seat_id
        target = seat(page, seat_id)
        big = await target.bounding_box()
        assert big and big["width"] >= 24 and big["height"] >= 24, big

        await target.tap()
        await expect(target).to_have_attribute("data-state", "mine", timeout=SLOW_MS)
        await expect(page.locator(".seat-tooltip")).to_be_hidden()

        # The summary stays at the bottom of the screen while the basket is below the map.
        bar = page.get_by_test_id("basket-bar")
        await page.evaluate("window.scrollTo(0, 0)")
        await expect(bar).to_be_visible()
        await expect(bar).to_contain_text("1 ticket")
        await expect(page.get_by_test_id("bar-countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        box = await bar.bounding_box()
        cart = await page.get_by_test_id("cart").bounding_box()
        assert cart and cart["y"] + cart["height"] > PHONE["height"]  # the basket: below the fold
        assert box and abs(box["y"] + box["height"] - PHONE["height"]) < 2  # the bar: on screen
        await page.get_by_test_id("bar-open").click()
        await expect(page.locator("#cart-title")).to_be_focused()

        await page.get_by_test_id("zoom-reset").click()
        assert await zoom(page) == 1
        assert page.errors == []  # type: ignore[attr-defined]


async def test_pinch_zooms_and_a_drag_pans_without_taking_a_seat(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=600, per_row=30)
    async with browser_context(**PHONE) as context:
        page = await open_session(context, server, s.id)
        box = await page.get_by_test_id("seat-map").bounding_box()
        assert box
        cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
        await pinch(page, cx, cy, 40, 200)
        assert await zoom(page) > 2

        before = await page.get_by_test_id("seat-map").get_attribute("viewBox")
        await page.mouse.move(cx, cy)
        await page.mouse.down()
        await page.mouse.move(cx - 60, cy - 30, steps=6)
        await page.mouse.up()
        assert await page.get_by_test_id("seat-map").get_attribute("viewBox") != before
        await expect(page.locator('[data-testid="seat"][data-state="mine"]')).to_have_count(0)
        await expect(page.get_by_test_id("basket-bar")).to_be_hidden()
        assert page.errors == []  # type: ignore[attr-defined]


async def test_ctrl_wheel_zooms_and_the_plain_wheel_scrolls_the_page(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=600, per_row=30)
    async with browser_context(900, 700) as context:
        page = await open_session(context, server, s.id)
        box = await page.get_by_test_id("seat-map").bounding_box()
        assert box
        await page.mouse.move(box["x"] + box["width"] / 2, box["y"] + 80)
        await page.mouse.wheel(0, 200)
        assert await zoom(page) == 1
        await page.keyboard.down("Control")
        await page.mouse.wheel(0, -300)
        await page.keyboard.up("Control")
        await page.wait_for_function(
            "() => Number(document.querySelector('[data-testid=\"seat-map\"]').dataset.zoom) > 1.5"
        )
        # the basket summary is for phones: the desktop has the basket beside the map
        await seat(page, s.seat_ids[0]).focus()
        await page.keyboard.press("Enter")
        await expect(seat(page, s.seat_ids[0])).to_have_attribute("data-state", "mine")
        await expect(page.get_by_test_id("basket-bar")).to_be_hidden()
        assert page.errors == []  # type: ignore[attr-defined]
