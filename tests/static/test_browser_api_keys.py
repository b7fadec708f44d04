"""The back office's page of the website API keys (admin-api-keys.html) in a real headless
Chromium at phone width: an admin makes a key, sees it once with the embed snippet for a
session of their choosing and copies it; the key works on the website API; a revocation
asks first, and once confirmed the API refuses the key."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import expect

from tests.browser import browser_context
from tests.conftest import ADMIN_PASSWORD
from tests.static.staff_pages import SLOW_MS, no_horizontal_scroll, sign_in_on_page, watch_errors
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser


async def public_sessions(server: ServerProcess, key: str) -> int:
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        r = await http.get("/api/public/v1/sessions", headers={"X-Api-Key": key})
    return r.status_code


async def test_an_admin_makes_a_key_with_its_embed_snippet_then_revokes_it(
    server: ServerProcess, admin: Api
) -> None:
    first = await admin.create_session(n_seats=8, per_row=4)
    second = await admin.create_session(n_seats=8, per_row=4)
    name = f"Festival site {uuid.uuid4().hex[:6]}"
    async with browser_context(390, 844) as context:
        await context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server.url)
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, "admin", ADMIN_PASSWORD, "/staff.html")
        await page.get_by_test_id("page-apikeys").click()
        await page.wait_for_url(f"{server.url}/admin-api-keys.html", timeout=SLOW_MS)

        # a bad origin is refused in words and makes no key
        await page.get_by_test_id("key-name").fill(name)
        await page.get_by_test_id("key-origins").fill("https://festival.example/tickets")
        await page.get_by_test_id("create-key").click()
        await expect(page.get_by_test_id("key-error")).to_have_attribute(
            "data-code", "invalid_origin", timeout=SLOW_MS
        )
        await expect(page.locator(f'[data-key-name="{name}"]')).to_have_count(0)

        await page.get_by_test_id("key-origins").fill(
            "https://festival.example\nhttp://127.0.0.1:9"
        )
        await page.get_by_test_id("key-rate").fill("120")
        await page.get_by_test_id("create-key").click()
        shown = page.get_by_test_id("created-key-value")
        await expect(shown).to_have_value(re.compile(r"^gk_"), timeout=SLOW_MS)
        key = await shown.input_value()
        assert await public_sessions(server, key) == 200

        # the snippet names the key and the session picked
        await page.get_by_test_id("embed-session").select_option(str(second.id))
        snippet = await page.get_by_test_id("embed-snippet").input_value()
        assert f'data-key="{key}"' in snippet and f'data-session="{second.id}"' in snippet
        assert snippet.startswith(f'<script src="{server.url}/embed.js"')
        await page.get_by_test_id("embed-session").select_option(str(first.id))
        await expect(page.get_by_test_id("embed-snippet")).to_have_value(
            re.compile(f'data-session="{first.id}"')
        )
        await page.get_by_test_id("copy-snippet").click()
        await expect(page.get_by_test_id("copy-done")).to_have_text("Copié dans le presse-papiers.")
        assert await page.evaluate("navigator.clipboard.readText()") == (
            await page.get_by_test_id("embed-snippet").input_value()
        )

        # listed with its origins, rate and state in words, never the key itself
        row = page.locator(f'[data-testid="api-key-row"][data-key-name="{name}"]')
        await expect(row.get_by_test_id("key-state")).to_have_text("Active")
        await expect(row.get_by_test_id("key-origins-listed")).to_have_text(
            "http://127.0.0.1:9, https://festival.example"
        )
        await expect(row.get_by_test_id("key-rate-listed")).to_contain_text("120")
        assert key not in (await page.get_by_test_id("api-keys").inner_text())
        await no_horizontal_scroll(page)

        # a revocation asks first: dismissed, nothing changes
        page.once("dialog", lambda dialog: dialog.dismiss())
        await row.get_by_test_id("key-revoke").click()
        await expect(row).to_have_attribute("data-state", "active")
        assert await public_sessions(server, key) == 200

        page.once("dialog", lambda dialog: dialog.accept())
        await row.get_by_test_id("key-revoke").click()
        await expect(row).to_have_attribute("data-state", "revoked", timeout=SLOW_MS)
        await expect(row.get_by_test_id("key-state")).to_contain_text("Révoquée le")
        await expect(row.get_by_test_id("key-revoke")).to_have_count(0)
        assert errors == []
    assert await public_sessions(server, key) == 401
