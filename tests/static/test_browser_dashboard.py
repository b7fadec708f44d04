"""The organiser's live dashboard in a real headless Chromium: fill gauge and door figures
pushed over the WebSocket, roles (admin, stats, anonymous), and releasing unscanned
reservations with its preview / confirm / 409 ``count_changed`` round trip."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Locator, Page, expect

from tests.browser import browser_context
from tests.conftest import ADMIN_PASSWORD
from tests.door.test_door_api import buy_tickets, code_of, door_session, scan
from tests.door.test_door_release import booked_minutes_ago, reserve
from tests.static.staff_pages import sign_in_on_page, watch_errors
from tests.static.test_browser_scanner import tampered
from tests.support import Api, ServerProcess

LIVE_MS = 5000  # a pushed change must show without reload
SLOW_MS = 8000  # page load, sign-in, first subscription answers

pytestmark = pytest.mark.browser


async def open_dashboard(
    context: BrowserContext, server: ServerProcess, user: tuple[str, str] | None
) -> Page:
    page = await context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    if user is None:
        await page.goto(f"{server.url}/dashboard.html")
        await page.wait_for_url(f"{server.url}/signin.html?next=**", timeout=SLOW_MS)
        return page
    await sign_in_on_page(page, server.url, user[0], user[1], "/dashboard.html")
    await page.get_by_test_id("language").select_option("en")  # the texts below are English
    await expect(page.get_by_test_id("session-grid")).to_be_visible()
    await expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-status", "open", timeout=SLOW_MS
    )
    return page


def card_of(page: Page, session_id: int) -> Locator:
    return page.locator(f'[data-testid="session-card"][data-session-id="{session_id}"]')


async def stats_user(admin: Api) -> tuple[str, str]:
    username, password = f"stats-{uuid.uuid4().hex[:8]}", "stats-password-1"
    r = await admin.http.post(
        "/api/users", json={"username": username, "password": password, "roles": ["stats"]}
    )
    assert r.status_code == 201, r.text
    return username, password


async def test_fill_and_door_figures_arrive_live(
    server: ServerProcess, admin: Api, buyer: Api, tmp_path: Path
) -> None:
    # Starting in two minutes: first in the grid even when other tests left sessions behind.
    session = await door_session(admin, starts_in=timedelta(minutes=2))
    _, tickets = await buy_tickets(buyer, session, 3)
    codes = [await code_of(admin, t) for t in tickets]

    async with browser_context() as context:
        page = await open_dashboard(context, server, ("admin", ADMIN_PASSWORD))
        card = card_of(page, session["id"])
        await expect(card).to_be_visible(timeout=SLOW_MS)
        await expect(card.get_by_test_id("event")).to_have_text("Door test")
        await expect(card.get_by_test_id("room")).to_have_text("Hall")
        await expect(card.get_by_test_id("sold")).to_have_text("3", timeout=SLOW_MS)
        await expect(card.get_by_test_id("held")).to_have_text("0")
        await expect(card.get_by_test_id("free")).to_have_text("17")
        await expect(card.get_by_test_id("capacity")).to_have_text("20")
        await expect(card.get_by_test_id("entered")).to_have_text("0", timeout=SLOW_MS)
        await expect(card.get_by_test_id("release-open")).to_be_visible()
        await page.evaluate("window.__notReloaded = true")

        # a buyer holds one more seat: the gauge moves by itself
        r = await buyer.hold(session["id"], session["free_seats"][:1])
        assert r.status_code == 200, r.text
        await expect(card.get_by_test_id("held")).to_have_text("1", timeout=LIVE_MS)
        await expect(card.get_by_test_id("free")).to_have_text("16")
        await expect(card.get_by_test_id("sold")).to_have_text("3")
        await expect(card.get_by_test_id("fill-bar")).to_have_attribute(
            "aria-valuetext", "3 sold, 1 held, 16 free of 20"
        )

        # two people come in at two doors; at the first, a forged code is refused (counted for
        # the session the scanner is checking), then the first ticket is shown again.
        assert (await scan(admin, codes[0], door="north"))["result"] == "valid"
        assert (await scan(admin, codes[1], door="south"))["result"] == "valid"
        forged = await scan(admin, tampered(codes[2]), door="north", session_id=session["id"])
        assert (forged["result"], forged["reason"]) == ("refused", "forged")
        again = await scan(admin, codes[0], door="north")
        assert (again["result"], again["reason"]) == ("refused", "already_entered")

        await expect(card.get_by_test_id("entered")).to_have_text("2", timeout=LIVE_MS)
        await expect(card.get_by_test_id("inside")).to_have_text("2", timeout=LIVE_MS)
        await expect(card.get_by_test_id("refused")).to_have_text("2", timeout=LIVE_MS)
        await expect(card.get_by_test_id("rate")).to_have_text("2", timeout=LIVE_MS)
        rows = card.get_by_test_id("door-row")
        await expect(rows).to_have_count(2, timeout=LIVE_MS)
        north = card.locator('[data-testid="door-row"][data-door="north"]')
        south = card.locator('[data-testid="door-row"][data-door="south"]')
        await expect(north.get_by_test_id("door-entered")).to_have_text("1")
        await expect(north.get_by_test_id("door-refused")).to_have_text("2")
        await expect(south.get_by_test_id("door-entered")).to_have_text("1")
        await expect(south.get_by_test_id("door-refused")).to_have_text("0")
        refusals = card.get_by_test_id("refusal")
        await expect(refusals).to_have_count(2)
        for reason, words in (("already_entered", "Already entered"), ("forged", "Fake")):
            refusal = card.locator(f'[data-testid="refusal"][data-reason="{reason}"]')
            await expect(refusal).to_contain_text(words)
            await expect(refusal.get_by_test_id("refusal-count")).to_have_text("1")

        assert await page.evaluate("window.__notReloaded === true")
        await page.screenshot(path=tmp_path / "dashboard.png", full_page=True)
        await card.screenshot(path=tmp_path / "dashboard-card.png")
        await page.set_viewport_size({"width": 390, "height": 844})  # a phone
        await page.screenshot(path=tmp_path / "dashboard-phone.png")
        assert page.errors == []  # type: ignore[attr-defined]


async def test_a_stats_user_sees_the_doors_but_no_release_and_visitors_must_sign_in(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    session = await door_session(admin, starts_in=timedelta(minutes=2))
    _, tickets = await buy_tickets(buyer, session, 2)
    assert (await scan(admin, await code_of(admin, tickets[0]), door="east"))["result"] == "valid"
    user = await stats_user(admin)

    async with browser_context() as context:
        page = await open_dashboard(context, server, user)
        card = card_of(page, session["id"])
        await expect(card.get_by_test_id("sold")).to_have_text("2", timeout=SLOW_MS)
        await expect(card.get_by_test_id("entered")).to_have_text("1", timeout=SLOW_MS)
        await expect(card.get_by_test_id("inside")).to_have_text("1")
        await expect(card.locator('[data-testid="door-row"][data-door="east"]')).to_be_visible()
        await expect(page.get_by_test_id("release-open")).to_have_count(0)
        assert page.errors == []  # type: ignore[attr-defined]

    async with browser_context() as context:
        page = await open_dashboard(context, server, None)
        # signed out: the server answers the sign-in page, which comes back here afterwards
        assert "next=%2Fdashboard.html" in page.url or "next=/dashboard.html" in page.url
        await expect(page.get_by_test_id("signin-form")).to_be_visible()
        assert page.errors == []  # type: ignore[attr-defined]


async def test_release_unscanned_previews_refuses_a_changed_count_then_releases(
    server: ServerProcess, admin: Api, tmp_path: Path
) -> None:
    session = await door_session(admin, starts_in=timedelta(minutes=2))
    reserved = await reserve(admin, session, 2)
    await booked_minutes_ago(reserved, 20)

    async with browser_context() as context:
        page = await open_dashboard(context, server, ("admin", ADMIN_PASSWORD))
        card = card_of(page, session["id"])
        await expect(card.get_by_test_id("sold")).to_have_text("2", timeout=SLOW_MS)
        await card.get_by_test_id("release-open").click()
        dialog = page.get_by_test_id("release-dialog")
        await expect(dialog).to_be_visible()
        count = dialog.get_by_test_id("release-count")
        await expect(count).to_have_attribute("data-count", "2", timeout=SLOW_MS)
        await expect(dialog.get_by_test_id("release-seats").locator("li")).to_have_count(2)
        confirm = dialog.get_by_test_id("release-confirm")
        await expect(confirm).to_have_text("Release 2 reservations")
        await page.screenshot(path=tmp_path / "release-preview.png")

        # meanwhile one of them turns up at the door: the previewed count is stale
        code = await code_of(admin, reserved[0])
        assert (await scan(admin, code, door="north"))["result"] == "valid"
        await confirm.click()
        problem = dialog.get_by_test_id("release-problem")
        await expect(problem).to_be_visible(timeout=SLOW_MS)
        await expect(problem).to_have_attribute("data-code", "count_changed")
        await expect(problem).to_contain_text("Nothing was released")
        await expect(problem).to_contain_text("now 1, not 2")
        await expect(count).to_have_attribute("data-count", "1", timeout=SLOW_MS)
        await expect(confirm).to_have_text("Release 1 reservation")
        await expect(card.get_by_test_id("sold")).to_have_text("2")
        await page.screenshot(path=tmp_path / "release-409.png")

        await confirm.click()
        await expect(dialog).to_be_hidden(timeout=SLOW_MS)
        await expect(page.get_by_test_id("message")).to_contain_text("Released 1 reservation")
        await expect(card.get_by_test_id("sold")).to_have_text("1", timeout=LIVE_MS)
        await expect(card.get_by_test_id("free")).to_have_text("19")
        assert page.errors == []  # type: ignore[attr-defined]

    r = await admin.http.get(f"/api/sessions/{session['id']}/unscanned-reservations")
    assert r.json()["count"] == 0


async def test_bar_sales_show_live_per_bar(server: ServerProcess, admin: Api) -> None:
    from tests.cash.helpers import cashier, new_register, open_session
    from tests.wallet.helpers import debit, new_bar, pass_code, top_up

    _, code = await pass_code(admin)
    _, bar = await new_bar(admin)
    bar_name = (await admin.http.get("/api/bars")).json()["bars"]
    name = next(b["point_of_sale"] for b in bar_name if b["register_id"] == bar)
    manager = await cashier(admin, server, "pos", "wallet_manager")
    waiter = await cashier(admin, server, "waiter")
    try:
        rs = await open_session(manager, await new_register(admin))
        assert (await top_up(manager, code, 5000, rs)).status_code == 201
        async with browser_context() as context:
            page = await open_dashboard(context, server, await stats_user(admin))
            await expect(page.get_by_test_id("bar-sales")).to_be_visible(timeout=SLOW_MS)
            assert (await debit(waiter, code, bar, 450)).status_code == 201
            assert (await debit(waiter, code, bar, 300)).status_code == 201
            row = page.locator(f'[data-testid="bar-row"][data-bar="{name}"]')
            await expect(row).to_contain_text("2 sales", timeout=LIVE_MS + 3000)
            await expect(row).to_contain_text("7.50")
            chart = row.get_by_role("img")
            # the chart says in words what it draws (both sales may fall in one minute)
            label = rf"^{name}: €7\.50 over the last hour, at most €(7\.50|4\.50) a minute$"
            await expect(chart).to_have_attribute("aria-label", re.compile(label))
            assert page.errors == []  # type: ignore[attr-defined]
    finally:
        await manager.close()
        await waiter.close()
