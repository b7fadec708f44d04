"""Overbooking on the cash desk page (pos.html, pos-overbook.js) in headless Chromium: a
cashier with roles pos and overbooker sells a seat the organiser blocked (a plain cashier is
not offered it), and two places past a full general-admission session's capacity; the
tickets, the journal and the audit log say so."""

from __future__ import annotations

import re
import uuid

import pytest
from playwright.async_api import Page, expect

from tests.articles.helpers import register_at
from tests.browser import browser_context
from tests.door.test_door_api import db_fetch
from tests.static.staff_pages import SLOW_MS, no_horizontal_scroll
from tests.static.test_browser_pos import (
    PASSWORD,
    cashier_page,
    euros,
    new_cashier,
    new_register,
)
from tests.static.test_browser_shop import seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

LIVE_MS = 3000


async def new_overbooker(admin: Api, pos_id: int) -> str:
    username = f"overbooker-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username,
        "password": PASSWORD,
        "display_name": "Sacha Surbooking",
        "roles": ["pos", "overbooker"],
        "points_of_sale": [pos_id],
    }
    r = await admin.http.post("/api/users", json=body)
    assert r.status_code == 201, r.text
    return username


async def overbookings(admin: Api, session_id: int) -> list[tuple[str, int, bool]]:
    """The session's orders: journal kind, tickets, and whether audited as an overbooking."""
    rows = await db_fetch(
        "SELECT o.id, j.kind, count(t.id) AS tickets FROM orders o"
        " JOIN journal j ON j.order_id = o.id JOIN tickets t ON t.order_id = o.id"
        " WHERE o.session_id = $1 GROUP BY o.id, j.kind ORDER BY o.id",
        session_id,
    )
    out = []
    for row in rows:
        r = await admin.http.get("/api/audit", params={"subject": f"order:{row['id']}"})
        assert r.status_code == 200, r.text
        actions = [e["action"] for e in r.json()["items"]]
        out.append((row["kind"], row["tickets"], "order.overbook" in actions))
    return out


async def open_sell_session(page: Page, session_id: int) -> None:
    tile = page.locator(f'[data-testid="pos-session"][data-session-id="{session_id}"]')
    await tile.scroll_into_view_if_needed()
    await tile.click()
    await expect(page.get_by_test_id("sell-title")).to_be_visible(timeout=SLOW_MS)


async def test_an_overbooker_sells_a_blocked_seat_a_plain_cashier_is_not_offered_it(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=20, per_row=10, blocked=["floor-A-1", "floor-A-2"])
    pos_id, register_id, _ = await new_register(admin)
    plain_register = await register_at(admin, pos_id, f"Till {uuid.uuid4().hex[:4]}")
    plain = await new_cashier(admin, pos_id)
    overbooker = await new_overbooker(admin, pos_id)

    async with browser_context(1024, 1200) as context:
        desk = await cashier_page(context, server, plain, plain_register)
        await open_sell_session(desk, s.id)
        blocked = seat(desk, "floor-A-1")
        await expect(blocked).to_have_attribute("data-state", "unavailable", timeout=SLOW_MS)
        await expect(desk.get_by_test_id("overbook-panel")).to_have_count(0)
        await expect(desk.get_by_test_id("overbook-mode")).to_have_count(0)
        await blocked.click(force=True)  # aria-disabled: Playwright would wait
        await expect(desk.get_by_test_id("message").last).to_contain_text("n'est pas en vente")
        await expect(blocked).to_have_attribute("data-state", "unavailable")
        assert desk.errors == []  # type: ignore[attr-defined]

    async with browser_context(1024, 1200) as context:
        desk = await cashier_page(context, server, overbooker, register_id)
        await open_sell_session(desk, s.id)
        blocked = seat(desk, "floor-A-1")
        await expect(blocked).to_have_attribute("data-state", "unavailable", timeout=SLOW_MS)
        mode = desk.get_by_test_id("overbook-mode")
        await expect(mode).to_have_attribute("aria-pressed", "false")
        # the mode is entered from the keyboard; the ordinary basket steps aside
        await mode.focus()
        await desk.keyboard.press("Enter")
        await expect(mode).to_have_attribute("aria-pressed", "true")
        await expect(mode).to_contain_text("Quitter la surréservation")
        await expect(desk.get_by_test_id("best-submit")).to_be_hidden()
        box = desk.get_by_test_id("overbook")
        await expect(box).to_be_visible()
        await expect(blocked).to_have_attribute("aria-disabled", "false")

        # a free seat is not taken in this mode; a blocked one is, and says so in words
        await seat(desk, s.seat_ids[5]).click(force=True)  # announced as disabled here
        await expect(desk.get_by_test_id("message").last).to_contain_text(
            "quittez la surréservation"
        )
        await blocked.click()
        await expect(blocked).to_have_attribute("data-state", "picked")
        await expect(blocked).to_have_attribute(
            "aria-label", re.compile(r"bloquée, choisie pour la surréservation$")
        )
        item = box.get_by_test_id("overbook-item")
        await expect(item).to_have_count(1)
        await expect(item).to_have_attribute("data-seat-id", "floor-A-1")
        await expect(item).to_contain_text("bloquée")
        await expect(box.get_by_test_id("pay-total")).to_have_text(euros("15,00"))
        await item.get_by_test_id("overbook-seat-tariff").select_option(str(s.tariff_ids[1]))
        await expect(box.get_by_test_id("pay-total")).to_have_text(euros("10,00"))
        await box.get_by_test_id("given-exact").click()

        receipt = desk.get_by_test_id("receipt")
        await expect(receipt).to_be_visible(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("receipt-seat")).to_have_count(1)
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("10,00"))
        await desk.get_by_test_id("doc-close").click()
        await expect(blocked).to_have_attribute("data-state", "sold", timeout=LIVE_MS)
        await expect(mode).to_have_attribute("aria-pressed", "false")
        await expect(desk.get_by_test_id("overbook")).to_have_count(0)
        await expect(desk.get_by_test_id("best-submit")).to_be_visible()
        assert desk.errors == []  # type: ignore[attr-defined]

    assert await overbookings(admin, s.id) == [("sale", 1, True)]
    rows = await db_fetch(
        "SELECT t.seat_idx, t.tariff_id, t.status FROM tickets t WHERE t.session_id = $1", s.id
    )
    assert [(r["seat_idx"], r["tariff_id"]) for r in rows] == [
        (s.seat_ids.index("floor-A-1"), s.tariff_ids[1])
    ]


async def test_an_overbooker_sells_two_places_past_a_full_session_at_a_phones_width(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(seated=False, capacity=2)
    shop = Api(server.url)
    try:
        held = await shop.hold(s.id, quantity=2)  # a buyer holds the last places
        assert held.status_code == 200, held.text
    finally:
        await shop.close()
    pos_id, register_id, _ = await new_register(admin)
    overbooker = await new_overbooker(admin, pos_id)

    async with browser_context(390, 844) as context:
        desk = await cashier_page(context, server, overbooker, register_id)
        await open_sell_session(desk, s.id)
        panel = desk.get_by_test_id("overbook-panel")
        # the quick sale is refused: the session is full, and overbooking is offered
        await desk.get_by_test_id("quick-tariff").first.click()
        await expect(panel).to_be_visible(timeout=SLOW_MS)
        await expect(desk.get_by_test_id("overbook-full")).to_contain_text("Séance complète")
        await desk.get_by_test_id("overbook-mode").click()
        await expect(desk.get_by_test_id("quick-tariff").first).to_be_hidden()
        await desk.get_by_test_id("overbook-plus").click()
        await expect(desk.get_by_test_id("overbook-qty")).to_have_text("2")
        await desk.locator(
            f'[data-testid="overbook-tariff"][data-tariff-id="{s.tariff_ids[0]}"]'
        ).click()
        box = desk.get_by_test_id("overbook")
        await expect(box.get_by_test_id("overbook-item")).to_have_count(1)
        await expect(box.get_by_test_id("overbook-item")).to_contain_text(
            "Full \N{MULTIPLICATION SIGN} 2"
        )
        await expect(box.get_by_test_id("pay-total")).to_have_text(euros("30,00"))
        await no_horizontal_scroll(desk)
        await box.get_by_test_id("given-exact").click()
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(
            euros("30,00"), timeout=SLOW_MS
        )
        await no_horizontal_scroll(desk)
        await desk.get_by_test_id("doc-close").click()
        # in English too
        await desk.get_by_test_id("language").select_option("en")
        await open_sell_session(desk, s.id)
        await expect(desk.get_by_test_id("overbook-full")).to_contain_text(
            "Session full", timeout=SLOW_MS
        )
        await expect(desk.get_by_test_id("overbook-mode")).to_contain_text("Overbook")
        await no_horizontal_scroll(desk)
        assert desk.errors == []  # type: ignore[attr-defined]

    assert await overbookings(admin, s.id) == [("sale", 2, True)]
    rows = await db_fetch(
        "SELECT capacity, sold, overbooked FROM ga_counters WHERE session_id = $1", s.id
    )
    assert [(r["capacity"], r["sold"], r["overbooked"]) for r in rows] == [(2, 2, 2)]
