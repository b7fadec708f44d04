"""The cash desk page (pos.html) in a real headless Chromium against the real server: a
cashier's shift from the float to the Z report with the e-shop watching the seats, the quick
mode of general admission in three taps, and the page at a phone's width."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.articles.helpers import article, register_at
from tests.browser import browser_context
from tests.door.test_door_api import db_fetch
from tests.static.staff_pages import SLOW_MS, no_horizontal_scroll, sign_in_on_page, watch_errors
from tests.static.test_browser_shop import open_session, seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

PASSWORD = "cashier-password-1"
LIVE_MS = 3000


async def new_register(admin: Api) -> tuple[int, int, str]:
    """A point of sale and a register there: (point of sale id, register id, register name)."""
    r = await admin.http.post(
        "/api/points-of-sale", json={"name": f"Desk {uuid.uuid4().hex[:8]}", "kind": "desk"}
    )
    assert r.status_code == 201, r.text
    pos_id: int = r.json()["id"]
    name = f"Till {uuid.uuid4().hex[:4]}"
    r = await admin.http.post("/api/registers", json={"point_of_sale_id": pos_id, "name": name})
    assert r.status_code == 201, r.text
    return pos_id, r.json()["id"], name


async def new_cashier(admin: Api, pos_id: int) -> str:
    username = f"cashier-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username,
        "password": PASSWORD,
        "display_name": "Camille Caisse",
        "roles": ["pos", "refund"],
        "points_of_sale": [pos_id],
    }
    r = await admin.http.post("/api/users", json=body)
    assert r.status_code == 201, r.text
    return username


async def open_register(page: Page, register_id: int, counted: dict[str, str]) -> None:
    """On the open view: pick the register, count the float, open."""
    await expect(page.get_by_test_id("open-view")).to_be_visible(timeout=SLOW_MS)
    choice = page.locator(f'[data-testid="register-choice"][data-register-id="{register_id}"]')
    await choice.check()
    for cents, n in counted.items():
        await page.get_by_test_id(f"float-{cents}").fill(n)
    await page.get_by_test_id("open-register").click()
    await expect(page.get_by_test_id("register-status")).to_have_attribute(
        "data-state", "open", timeout=SLOW_MS
    )
    await expect(page.get_by_test_id("desk")).to_be_visible()


async def cashier_page(
    context: BrowserContext, server: ServerProcess, username: str, register_id: int
) -> Page:
    page = await context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    await sign_in_on_page(page, server.url, username, PASSWORD, "/pos.html")
    await expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-status", "open", timeout=SLOW_MS
    )
    await open_register(page, register_id, {"2000": "2", "500": "2", "100": "5"})
    return page


def euros(text: str) -> re.Pattern[str]:
    """An amount as the page prints it in French ("20,00 €", with a narrow space)."""
    return re.compile(re.escape(text) + r"\s*€")


async def test_a_cashiers_shift_from_float_to_z_report_with_the_eshop_watching(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10)
    pos_id, register_id, register_name = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1200) as context:
        desk = await cashier_page(context, server, username, register_id)
        await expect(desk.get_by_test_id("register-status")).to_contain_text(register_name)
        await expect(desk.get_by_test_id("register-status")).to_contain_text(euros("55,00"))
        shop = await open_session(context, server, s.id)
        await desk.bring_to_front()  # the cashier works on the desk: a tab behind renders no frames

        # a seat picked on the map, another by best available; both shown held before paying
        await desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]').click()
        picked = s.seat_ids[0]
        await expect(seat(desk, picked)).to_have_attribute("data-state", "free", timeout=SLOW_MS)
        await seat(desk, picked).click()
        await expect(seat(desk, picked)).to_have_attribute("data-state", "mine", timeout=LIVE_MS)
        await desk.get_by_test_id("best-count").fill("1")
        await desk.get_by_test_id("best-submit").click()
        items = desk.get_by_test_id("basket-item")
        await expect(items).to_have_count(2, timeout=SLOW_MS)
        sold = [str(await items.nth(i).get_attribute("data-seat-id")) for i in range(2)]
        assert picked in sold and "None" not in sold
        for seat_id in sold:
            await expect(seat(desk, seat_id)).to_have_attribute("data-state", "mine")
            await expect(seat(shop, seat_id)).to_have_attribute(
                "data-state", "held", timeout=LIVE_MS
            )
        await expect(desk.get_by_test_id("hold-countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        await expect(desk.locator("#panel-sell").get_by_test_id("pay-total")).to_have_text(
            euros("30,00")
        )

        # cash: 50.00 given, 20.00 change in big figures, then the receipt
        await desk.locator("#panel-sell").get_by_test_id("pay-given").fill("50")
        await expect(desk.locator("#panel-sell").get_by_test_id("change-due")).to_have_text(
            euros("20,00")
        )
        await desk.locator("#panel-sell").get_by_test_id("pay-cash").click()
        receipt = desk.get_by_test_id("receipt")
        await expect(receipt).to_be_visible(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("change-banner")).to_contain_text(euros("20,00"))
        receipt_no = await receipt.get_attribute("data-receipt-no")
        assert receipt_no and int(receipt_no) >= 2  # the float is receipt 1
        await expect(desk.get_by_test_id("receipt-no")).to_contain_text(f"Reçu n° {receipt_no}")
        await expect(receipt).to_contain_text(register_name)
        await expect(receipt).to_contain_text("Camille Caisse")
        await expect(desk.get_by_test_id("receipt-line")).to_have_count(2)
        await expect(desk.get_by_test_id("receipt-seat")).to_have_count(2)
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("30,00"))
        await expect(desk.get_by_test_id("receipt-change")).to_have_text(euros("20,00"))
        await expect(desk.get_by_test_id("print")).to_be_visible()
        await desk.get_by_test_id("paper").select_option("a4")
        await expect(receipt).to_have_attribute("data-paper", "a4")
        for seat_id in sold:
            await expect(seat(shop, seat_id)).to_have_attribute(
                "data-state", "sold", timeout=LIVE_MS
            )
        await desk.get_by_test_id("doc-close").click()

        # refund one line from the last sales: the e-shop sees that seat free again
        await desk.get_by_test_id("tab-journal").click()
        entry = desk.locator(
            f'[data-testid="journal-entry"][data-kind="sale"][data-receipt-no="{receipt_no}"]'
        )
        await expect(entry).to_be_visible(timeout=SLOW_MS)
        await entry.get_by_test_id("refund-line").first.click()
        await entry.get_by_test_id("refund-confirm").click()
        await expect(desk.get_by_test_id("refund-banner")).to_contain_text(
            euros("15,00"), timeout=SLOW_MS
        )
        await expect(desk.get_by_test_id("receipt")).to_have_attribute(
            "data-receipt-no", str(int(receipt_no) + 1)
        )
        await expect(shop.locator('[data-testid="seat"][data-state="free"]')).to_have_count(
            19, timeout=LIVE_MS
        )
        assert sorted([await shop_state(shop, sid) for sid in sold]) == ["free", "sold"]
        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("tab-journal").click()
        await expect(desk.get_by_test_id("line-refunded")).to_have_count(1, timeout=SLOW_MS)

        # blind close: 72.00 counted where 55 + 30 - 15 = 70.00 are expected
        await desk.get_by_test_id("tab-register").click()
        await expect(desk.get_by_test_id("close-start")).to_be_visible()
        assert "70,00" not in (await desk.locator("#panel-register").inner_text())
        await desk.get_by_test_id("close-start").click()
        for cents, n in {"5000": "1", "2000": "1", "200": "1"}.items():
            await desk.get_by_test_id(f"close-{cents}").fill(n)
        await expect(desk.get_by_test_id("close-total")).to_have_text(euros("72,00"))
        desk.once("dialog", lambda dialog: dialog.accept())
        await desk.get_by_test_id("close-register").click()
        z = desk.get_by_test_id("z-report")
        await expect(z).to_be_visible(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("z-counted")).to_have_text(euros("72,00"))
        await expect(desk.get_by_test_id("z-expected")).to_have_text(euros("70,00"))
        await expect(desk.get_by_test_id("z-difference")).to_contain_text(
            re.compile(r"^\+2,00\s*€")
        )
        await expect(desk.get_by_test_id("z-difference")).to_have_attribute("data-sign", "over")
        await expect(desk.get_by_test_id("z-number")).to_have_text(re.compile(r"^\d+$"))
        await expect(desk.get_by_test_id("z-hash")).to_have_text(re.compile(r"^[0-9a-f]{64}$"))
        await expect(desk.get_by_test_id("register-status")).to_have_attribute(
            "data-state", "closed"
        )
        await desk.get_by_test_id("doc-close").click()
        await expect(desk.get_by_test_id("open-view")).to_be_visible(timeout=SLOW_MS)
        assert desk.errors == [] and shop.errors == []  # type: ignore[attr-defined]

    # the order is a desk sale, journalled at this register
    rows = await db_fetch(
        "SELECT o.channel, j.register_id FROM orders o JOIN journal j ON j.order_id = o.id"
        " WHERE o.session_id = $1 AND j.kind = 'sale'",
        s.id,
    )
    assert [(r["channel"], r["register_id"]) for r in rows] == [("pos", register_id)]


async def shop_state(page: Page, seat_id: str) -> str:
    return str(await seat(page, seat_id).get_attribute("data-state"))


async def test_quick_mode_sells_general_admission_in_three_taps(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=40)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1000) as context:
        desk = await cashier_page(context, server, username, register_id)
        tile = desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]')
        await tile.scroll_into_view_if_needed()  # gauges are live for the tiles on screen
        await expect(tile.get_by_test_id("gauge")).to_have_attribute(
            "data-free", "40", timeout=SLOW_MS
        )
        await tile.click()  # 1: the session
        await desk.get_by_test_id("quick-tariff").first.click()  # 2: Full, quantity 1
        await expect(desk.locator("#panel-sell").get_by_test_id("pay-total")).to_have_text(
            euros("15,00"), timeout=SLOW_MS
        )
        await expect(desk.get_by_test_id("hold-countdown")).to_have_text(re.compile(r"^\d\d:\d\d$"))
        await desk.locator(
            '#panel-sell [data-testid="given-note"][data-cents="2000"]'
        ).click()  # 3: 20 € given
        await expect(desk.get_by_test_id("change-banner")).to_contain_text(
            euros("5,00"), timeout=SLOW_MS
        )
        await expect(desk.get_by_test_id("receipt-line")).to_have_count(1)
        await expect(desk.get_by_test_id("receipt-change")).to_have_text(euros("5,00"))
        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("sell-back").click()
        await tile.scroll_into_view_if_needed()
        await expect(tile.get_by_test_id("gauge")).to_have_attribute(
            "data-free", "39", timeout=SLOW_MS
        )
        assert desk.errors == []  # type: ignore[attr-defined]


async def test_the_cash_desk_at_a_phones_width(server: ServerProcess, admin: Api) -> None:
    s = await admin.create_session(n_seats=40, per_row=10)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(390, 844) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, username, PASSWORD, "/pos.html")
        await expect(page.get_by_test_id("open-view")).to_be_visible(timeout=SLOW_MS)
        await no_horizontal_scroll(page)
        await open_register(page, register_id, {"2000": "1"})
        await no_horizontal_scroll(page)
        await page.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]').click()
        await page.get_by_test_id("best-count").fill("2")
        await page.get_by_test_id("best-submit").click()
        await expect(page.get_by_test_id("basket-item")).to_have_count(2, timeout=SLOW_MS)
        await no_horizontal_scroll(page)
        await page.locator("#panel-sell").get_by_test_id("pay-method-split").click()
        await page.locator("#panel-sell").get_by_test_id("split-cash").fill("10")
        await expect(page.locator("#panel-sell").get_by_test_id("split-card")).to_have_text(
            euros("20,00")
        )
        await page.locator("#panel-sell").get_by_test_id("pay-split").click()
        await expect(page.get_by_test_id("receipt")).to_be_visible(timeout=SLOW_MS)
        await expect(page.get_by_test_id("receipt-payments")).to_contain_text("Carte")
        await no_horizontal_scroll(page)
        await page.get_by_test_id("doc-close").click()
        for tab in ("tab-journal", "tab-register"):
            await page.get_by_test_id(tab).click()
            await no_horizontal_scroll(page)
        # in English too, down to the Z report
        await page.get_by_test_id("language").select_option("en")
        await expect(page.get_by_test_id("tab-journal")).to_contain_text("Last sales")
        await expect(page.get_by_test_id("register-status")).to_contain_text("Register open")
        await no_horizontal_scroll(page)
        await page.get_by_test_id("tab-register").click()
        await page.get_by_test_id("close-start").click()
        await page.get_by_test_id("close-2000").fill("1")
        await page.get_by_test_id("close-500").fill("2")
        page.once("dialog", lambda dialog: dialog.accept())
        await page.get_by_test_id("close-register").click()
        await expect(page.get_by_test_id("z-difference")).to_contain_text("(even)", timeout=SLOW_MS)
        await no_horizontal_scroll(page)
        assert errors == []


async def test_a_second_cashier_takes_the_register_over(server: ServerProcess, admin: Api) -> None:
    pos_id, register_id, register_name = await new_register(admin)
    first = await new_cashier(admin, pos_id)
    second = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1000) as context:
        await cashier_page(context, server, first, register_id)
    async with browser_context(1024, 1000) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, second, PASSWORD, "/pos.html")
        choice = page.locator(f'[data-testid="register-choice"][data-register-id="{register_id}"]')
        await expect(choice).to_have_attribute("data-busy", "true", timeout=SLOW_MS)
        await choice.check()
        submit = page.get_by_test_id("open-register")
        await expect(submit).to_have_attribute("data-handover", "true")
        await page.get_by_test_id("float-2000").fill("2")
        await page.get_by_test_id("float-500").fill("3")
        await submit.click()
        await expect(page.get_by_test_id("register-status")).to_have_attribute(
            "data-state", "open", timeout=SLOW_MS
        )
        await expect(page.get_by_test_id("register-status")).to_contain_text(register_name)
        await expect(page.get_by_test_id("register-status")).to_contain_text(euros("55,00"))
        assert errors == []
    rows = await db_fetch(
        "SELECT difference_cents, closed_at IS NULL AS open FROM register_sessions"
        " WHERE register_id = $1 ORDER BY id",
        register_id,
    )
    assert [(r["difference_cents"], r["open"]) for r in rows] == [(0, False), (None, True)]


async def test_a_refused_payment_shows_its_code_and_the_new_price(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=10)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1000) as context:
        desk = await cashier_page(context, server, username, register_id)
        await desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]').click()
        await desk.get_by_test_id("quick-tariff").first.click()
        await expect(desk.locator("#panel-sell").get_by_test_id("pay-total")).to_have_text(
            euros("15,00"), timeout=SLOW_MS
        )
        # the price changes on the server meanwhile (its tariff cache lives a second)
        r = await admin.http.patch(f"/api/tariffs/{s.tariff_ids[0]}", json={"price_cents": 1700})
        assert r.status_code == 200, r.text
        await desk.wait_for_timeout(1300)
        await desk.locator("#panel-sell").get_by_test_id("given-exact").click()
        error = desk.locator("#panel-sell").get_by_test_id("pay-error")
        await expect(error).to_have_attribute("data-code", "payments_mismatch", timeout=SLOW_MS)
        await expect(error).to_contain_text("payments_mismatch")
        await expect(desk.locator("#panel-sell").get_by_test_id("pay-total")).to_have_text(
            euros("17,00"), timeout=SLOW_MS
        )
        await desk.locator("#panel-sell").get_by_test_id("given-exact").click()
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(
            euros("17,00"), timeout=SLOW_MS
        )
        assert desk.errors == []  # type: ignore[attr-defined]


async def focus_by_tab(page: Page, testid: str, presses: int = 12) -> None:
    """Press Tab until the element with ``testid`` has the focus."""
    for _ in range(presses):
        focused = await page.evaluate("document.activeElement?.dataset?.testid ?? ''")
        if focused == testid:
            return
        await page.keyboard.press("Tab")
    raise AssertionError(f"{testid} never got the focus by Tab")


async def test_a_sale_with_the_keyboard_only(server: ServerProcess, admin: Api) -> None:
    s = await admin.create_session(seated=False, capacity=10)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1000) as context:
        desk = await cashier_page(context, server, username, register_id)
        tile = desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]')
        await tile.focus()
        await desk.keyboard.press("Enter")
        await expect(desk.get_by_test_id("sell-title")).to_be_focused(timeout=SLOW_MS)
        await focus_by_tab(desk, "quick-plus")
        await desk.keyboard.press("Enter")
        await expect(desk.get_by_test_id("quick-qty")).to_have_text("2")
        await focus_by_tab(desk, "quick-tariff")
        await desk.keyboard.press("Enter")
        # the hold is made and the focus waits on "exact amount"
        await expect(desk.locator("#panel-sell").get_by_test_id("given-exact")).to_be_focused(
            timeout=SLOW_MS
        )
        await expect(desk.locator("#panel-sell").get_by_test_id("pay-total")).to_have_text(
            euros("30,00")
        )
        await desk.keyboard.press("Enter")
        await expect(desk.get_by_test_id("doc-title")).to_be_focused(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("30,00"))
        # the tabs follow the arrow keys
        await desk.keyboard.press("Escape")
        await focus_by_tab(desk, "doc-close")
        await desk.keyboard.press("Enter")
        await desk.get_by_test_id("tab-sell").focus()
        await desk.keyboard.press("End")
        await expect(desk.get_by_test_id("tab-register")).to_be_focused()
        await desk.keyboard.press("ArrowLeft")
        await expect(desk.get_by_test_id("tab-journal")).to_be_focused()
        await expect(desk.get_by_test_id("tab-journal")).to_have_attribute("aria-selected", "true")
        await expect(desk.get_by_test_id("journal-entry")).to_have_count(1, timeout=SLOW_MS)
        assert desk.errors == []  # type: ignore[attr-defined]


async def test_articles_sell_until_the_stock_alert_shows_on_a_second_pos(
    server: ServerProcess, admin: Api
) -> None:
    pos_id, register_id, _ = await new_register(admin)
    other_register = await register_at(admin, pos_id, f"Till {uuid.uuid4().hex[:4]}")
    beer = await article(admin, point_of_sale_id=pos_id, stock=3, alert_at=1)
    first = await new_cashier(admin, pos_id)
    second = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1000) as context_a, browser_context(1024, 1000) as context_b:
        desk = await cashier_page(context_a, server, first, register_id)
        watcher = await cashier_page(context_b, server, second, other_register)
        await watcher.get_by_test_id("tab-articles").click()
        level = watcher.locator(f'[data-testid="article"][data-article-id="{beer["id"]}"]')
        await expect(level.get_by_test_id("stock")).to_have_attribute("data-stock", "3")
        await expect(level.get_by_test_id("stock")).to_have_attribute("data-alert", "false")

        await desk.get_by_test_id("tab-articles").click()
        button = desk.locator(f'[data-testid="article"][data-article-id="{beer["id"]}"]')
        await button.click()
        await button.click()
        await expect(desk.locator("#panel-articles").get_by_test_id("pay-total")).to_have_text(
            euros("10,00")
        )
        await desk.locator("#panel-articles").get_by_test_id("given-exact").click()
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(
            euros("10,00"), timeout=SLOW_MS
        )
        await expect(desk.get_by_test_id("receipt")).to_contain_text("20 %")
        # the other desk sees the level fall under the alert, in words as well as colour
        await expect(level.get_by_test_id("stock")).to_have_attribute(
            "data-alert", "true", timeout=LIVE_MS
        )
        await expect(level.get_by_test_id("stock")).to_have_attribute("data-stock", "1")
        await expect(level.get_by_test_id("stock")).to_contain_text("Stock bas")

        # the line refunded: the units go back to stock, live
        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("tab-journal").click()
        line = desk.locator(f'[data-testid="journal-line"][data-article-id="{beer["id"]}"]')
        await line.get_by_test_id("refund-line").click()
        await desk.get_by_test_id("refund-confirm").click()
        await expect(desk.get_by_test_id("refund-banner")).to_contain_text(
            euros("10,00"), timeout=SLOW_MS
        )
        await expect(level.get_by_test_id("stock")).to_have_attribute(
            "data-stock", "3", timeout=LIVE_MS
        )
        await expect(level.get_by_test_id("stock")).to_have_attribute("data-alert", "false")
        assert desk.errors == [] and watcher.errors == []  # type: ignore[attr-defined]
