"""The accounting page in a real headless Chromium at a phone's width: an accountant picks a
period and a register, sees the three statements with their totals in words and figures,
and downloads the sales statement as CSV, which reads back as what the page shows."""

from __future__ import annotations

import asyncio
import csv
import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.async_api import expect

from tests.accounting.helpers import trade
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


async def test_an_accountant_filters_a_period_and_downloads_the_csv(
    server: ServerProcess, admin: Api
) -> None:
    day = await trade(admin, server)
    accountant = await new_staff(admin, "accounting")
    today = datetime.now(UTC).date()
    async with browser_context(width=390, height=844) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(
            page, server.url, accountant["username"], accountant["password"], "/accounting.html"
        )
        await expect(page.get_by_test_id("sales-table")).to_be_visible(timeout=SLOW_MS)
        await page.get_by_test_id("acc-from").fill((today - timedelta(days=1)).isoformat())
        await page.get_by_test_id("acc-to").fill(today.isoformat())
        await page.get_by_test_id("acc-show").click()
        register = page.get_by_test_id("acc-register")
        await expect(register.locator(f'option[value="{day.register_id}"]')).to_have_count(
            1, timeout=SLOW_MS
        )
        await register.select_option(str(day.register_id))
        await page.get_by_test_id("acc-show").click()
        lines = page.get_by_test_id("sales-line")
        await expect(lines).to_have_count(5, timeout=SLOW_MS)
        await expect(lines.nth(4)).to_contain_text("Remboursement")
        await expect(lines.nth(3)).to_contain_text("Carte + Espèces")
        await expect(page.get_by_test_id("sales-total")).to_contain_text("5 lignes")
        sessions = page.get_by_test_id("register-session")
        await expect(sessions).to_have_count(1)
        await expect(sessions.first).to_contain_text(f"#{day.register_session_id}")
        await expect(page.get_by_test_id("acc-rate")).to_have_count(2)
        await no_horizontal_scroll(page)
        await page.get_by_test_id("language").select_option("en")
        await expect(lines.nth(4)).to_contain_text("Refund")
        await expect(page.get_by_test_id("sales-total")).to_contain_text("5 lines")
        await expect(sessions.first).to_contain_text("short by")  # the count was 55.00
        await no_horizontal_scroll(page)

        async with page.expect_download() as info:
            await page.get_by_test_id("sales-csv").click()
        download = await info.value
        raw = await asyncio.to_thread(Path(await download.path()).read_bytes)
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert len(rows) == 5
        assert {r["register_id"] for r in rows} == {str(day.register_id)}
        assert [r["kind"] for r in rows][-1] == "refund"
        assert errors == []
