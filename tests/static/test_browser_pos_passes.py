"""Passes at the cash desk page (pos-passes.js) in a real headless Chromium: a cashier sells
a pass with a photo from a file, prints it with its QR code, books a session on it by its
code typed as a wedge scanner does (Enter), finds it by name; and the tab at a phone's
width in English."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from PIL import Image
from playwright.async_api import expect

from tests.browser import browser_context
from tests.cash.test_pass_sales import pass_type
from tests.door.test_door_api import db_fetch, door_session
from tests.static.staff_pages import SLOW_MS, no_horizontal_scroll
from tests.static.test_browser_pos import cashier_page, new_cashier, new_register
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser


def photo_file(tmp_path: Path) -> Path:
    """A camera-sized photo (larger than the server takes inline: the page shrinks it)."""
    image = Image.new("RGB", (1200, 1600))
    for x in range(0, 1200, 40):
        for y in range(0, 1600, 40):
            image.paste((x % 256, y % 256, (x + y) % 256), (x, y, x + 40, y + 40))
    path = tmp_path / "holder.png"
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    path.write_bytes(buffer.getvalue())
    return path


async def test_a_pass_sold_with_a_photo_is_booked_on_by_its_code(
    server: ServerProcess, admin: Api, tmp_path: Path
) -> None:
    session = await door_session(admin)
    kind = await pass_type(admin, session_ids=[session["id"]], price_cents=3000, max_sessions=1)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(1024, 1000) as context:
        desk = await cashier_page(context, server, username, register_id)
        await desk.get_by_test_id("tab-passes").click()
        panel = desk.locator("#panel-passes")
        await panel.get_by_test_id("pass-type").select_option(str(kind["id"]))
        await expect(panel.get_by_test_id("pay-total")).to_have_text(re.compile("30,00"))
        await panel.get_by_test_id("pass-first").fill("Ines")
        await panel.get_by_test_id("pass-last").fill("Moreau")
        await panel.get_by_test_id("pass-photo-file").set_input_files(photo_file(tmp_path))
        await expect(panel.get_by_test_id("pass-photo-preview")).to_be_visible(timeout=SLOW_MS)
        await panel.locator('[data-testid="given-note"][data-cents="5000"]').click()

        card = desk.get_by_test_id("pass-card")
        await expect(card).to_be_visible(timeout=SLOW_MS)
        await expect(card.get_by_test_id("pass-holder")).to_have_text("Ines Moreau")
        await expect(desk.get_by_test_id("receipt-change")).to_have_text(re.compile("20,00"))
        qr = card.get_by_test_id("pass-qr")
        await expect(qr).to_have_attribute("src", re.compile("^blob:"))
        assert await qr.evaluate("img => img.complete && img.naturalWidth > 0")
        code = (await card.get_by_test_id("pass-code").text_content() or "").strip()
        pass_id = int(await card.get_attribute("data-pass-id") or 0)
        (row,) = await db_fetch("SELECT photo, pass_type_id FROM passes WHERE id = $1", pass_id)
        assert row["photo"].startswith("data:image/jpeg;base64,") and len(row["photo"]) <= 60_000
        assert row["pass_type_id"] == kind["id"]

        await desk.get_by_test_id("doc-close").click()
        await desk.get_by_test_id("tab-passes").click()
        await panel.get_by_test_id("pass-code-session").select_option(str(session["id"]))
        await panel.get_by_test_id("pass-code-input").fill(code)
        await panel.get_by_test_id("pass-code-input").press("Enter")  # the wedge scanner's Enter
        result = panel.get_by_test_id("pass-code-result")
        await expect(result.get_by_test_id("pass-booked")).to_contain_text(
            "Réservé", timeout=SLOW_MS
        )
        await expect(result.get_by_test_id("pass-booking")).to_have_count(1)
        await expect(
            result.locator(f'[data-testid="pass-booking"][data-session-id="{session["id"]}"]')
        ).to_be_visible()
        (ticket,) = await db_fetch(
            "SELECT seat_idx FROM tickets WHERE pass_id = $1 AND status = 'active'", pass_id
        )
        assert ticket["seat_idx"] is not None
        # scanned again: the same booking, said so
        await panel.get_by_test_id("pass-code-input").fill(code)
        await panel.get_by_test_id("pass-code-input").press("Enter")
        await expect(result.get_by_test_id("pass-booked")).to_contain_text(
            "Déjà réservé", timeout=SLOW_MS
        )

        await panel.get_by_test_id("pass-query").fill("moreau ines")
        await panel.get_by_test_id("pass-type-filter").select_option(str(kind["id"]))
        await panel.get_by_test_id("pass-search").click()
        found = panel.get_by_test_id("pass-result")
        await expect(found).to_have_count(1, timeout=SLOW_MS)
        await expect(found.get_by_test_id("pass-status")).to_have_text(re.compile("Actif"))
        await expect(found).to_contain_text("1 réservation")
        assert desk.errors == []  # type: ignore[attr-defined]


async def test_the_passes_tab_at_a_phones_width(server: ServerProcess, admin: Api) -> None:
    await pass_type(admin)
    pos_id, register_id, _ = await new_register(admin)
    username = await new_cashier(admin, pos_id)
    async with browser_context(390, 844) as context:
        page = await cashier_page(context, server, username, register_id)
        await page.get_by_test_id("tab-passes").click()
        await expect(page.get_by_test_id("pass-type")).to_be_visible()
        wide = await page.evaluate(
            "[...document.querySelectorAll('#panel-passes *')]"
            ".filter(e => e.getBoundingClientRect().right > innerWidth)"
            ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 8)"
        )
        assert wide == []
        await no_horizontal_scroll(page)
        await page.get_by_test_id("language").select_option("en")
        await expect(page.get_by_test_id("tab-passes")).to_contain_text("Passes")
        await page.get_by_test_id("tab-passes").click()
        await expect(page.locator("#panel-passes")).to_contain_text("Sell a pass")
        await no_horizontal_scroll(page)
        assert page.errors == []  # type: ignore[attr-defined]
