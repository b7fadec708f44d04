"""The accounting page in a real headless Chromium, as an admin at a tablet's width: a
ticket refunded from its sales statement line (the cash desk's refund: the row then says
so and the statement gains the refund line), a statement and a session's tickets prepared
as export jobs whose progress shows in words, then downloaded."""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.accounting.helpers import period, trade
from tests.browser import browser_context
from tests.cash.helpers import db, open_session
from tests.static.staff_pages import SLOW_MS, new_staff, sign_in_on_page, watch_errors
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser


async def _show(page: Page, register_id: int) -> None:
    span = period()
    await page.get_by_test_id("acc-from").fill(span["from"])
    await page.get_by_test_id("acc-to").fill(span["to"])
    await page.get_by_test_id("acc-show").click()
    register = page.get_by_test_id("acc-register")
    await expect(register.locator(f'option[value="{register_id}"]')).to_have_count(
        1, timeout=SLOW_MS
    )
    await register.select_option(str(register_id))
    await page.get_by_test_id("acc-show").click()


async def _downloaded(page: Page, testid: str) -> bytes:
    link = page.get_by_test_id("export-job").first.get_by_test_id(testid)
    async with page.expect_download() as info:
        await link.click()
    return await asyncio.to_thread(Path(await (await info.value).path()).read_bytes)


async def test_an_admin_refunds_from_the_statement_and_prepares_exports(
    server: ServerProcess, admin: Api
) -> None:
    day = await trade(admin, server)
    boss = await new_staff(admin, "admin")
    api = Api(server.url)
    r = await api.http.post(
        "/api/auth/login", json={"username": boss["username"], "password": boss["password"]}
    )
    api.http.headers["Authorization"] = f"Bearer {r.json()['token']}"
    try:
        await open_session(api, day.register_id)  # the refund is paid out of its drawer
    finally:
        await api.close()
    async with browser_context(width=820, height=1180) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        page.on("dialog", lambda dialog: asyncio.ensure_future(dialog.accept()))
        await sign_in_on_page(
            page, server.url, boss["username"], boss["password"], "/accounting.html"
        )
        await _show(page, day.register_id)
        lines = page.get_by_test_id("sales-line")
        await expect(lines).to_have_count(5, timeout=SLOW_MS)
        await expect(page.get_by_test_id("sales-refunded")).to_have_count(1)
        active = lines.filter(has_text="Full").filter(has=page.get_by_test_id("refund-line"))
        await expect(active).to_have_count(1)
        await active.get_by_test_id("refund-line").click()
        await expect(lines).to_have_count(6, timeout=SLOW_MS)
        await expect(page.get_by_test_id("sales-refunded")).to_have_count(2)
        await expect(lines.filter(has_text="Remboursement")).to_have_count(2)
        await expect(page.get_by_test_id("sales-total")).to_contain_text("6 lignes")

        await page.get_by_test_id("job-start").click()
        job = page.get_by_test_id("export-job").first
        await expect(job).to_have_attribute("data-status", "done", timeout=SLOW_MS)
        await expect(job.get_by_test_id("job-progress")).to_contain_text("Prêt : 6 lignes")
        raw = await _downloaded(page, "job-download")
        rows = list(csv.DictReader(io.StringIO(raw.decode("utf-8-sig"))))
        assert [r["kind"] for r in rows].count("refund") == 2

        await page.get_by_test_id("tickets-session").fill(str(day.session_id))
        await page.get_by_test_id("tickets-start").click()
        await expect(job).to_contain_text(f"séance n° {day.session_id}")
        await expect(job).to_have_attribute("data-status", "done", timeout=SLOW_MS)
        archive = zipfile.ZipFile(io.BytesIO(await _downloaded(page, "job-download")))
        conn = await db()
        try:
            active_tickets = await conn.fetchval(
                "SELECT count(*) FROM tickets WHERE session_id = $1 AND status = 'active'",
                day.session_id,
            )
        finally:
            await conn.close()
        assert len(archive.namelist()) == active_tickets > 0
        await page.get_by_test_id("language").select_option("en")
        await expect(job.get_by_test_id("job-progress")).to_contain_text("Ready")
        assert errors == []
