"""Helpers for the staff pages in a real browser: sign in through /signin.html, create staff."""

from __future__ import annotations

import uuid
from urllib.parse import quote

from playwright.async_api import Page, expect

from tests.support import Api

SLOW_MS = 8000  # page load, sign-in, first subscription answers


def watch_errors(page: Page) -> list[str]:
    """Collect the page's uncaught script errors (a test asserts none happened)."""
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


async def sign_in_on_page(
    page: Page, base_url: str, username: str, password: str, path: str
) -> None:
    """Sign in through /signin.html?next=``path`` as a person would, and wait until the
    browser is on ``path`` (``tests.browser.sign_in`` is the shortcut through the API)."""
    await page.goto(f"{base_url}/signin.html?next={quote(path, safe='/')}")
    await page.get_by_test_id("username").fill(username)
    await page.get_by_test_id("password").fill(password)
    await page.get_by_test_id("signin").click()
    await page.wait_for_url(f"{base_url}{path}", timeout=SLOW_MS)


async def new_staff(admin: Api, *roles: str, password: str = "staff-password-1") -> dict[str, str]:
    """A user holding ``roles``, created by the admin over the API: id, username, password."""
    username = f"staff-{uuid.uuid4().hex[:8]}"
    r = await admin.http.post(
        "/api/users", json={"username": username, "password": password, "roles": list(roles)}
    )
    assert r.status_code == 201, r.text
    return {"id": str(r.json()["id"]), "username": username, "password": password}


async def no_horizontal_scroll(page: Page) -> None:
    """Nothing sticks out sideways at the current width."""
    await expect(page.locator("main")).to_be_visible()
    sizes = await page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert sizes[0] <= sizes[1], f"scrollWidth {sizes[0]} > innerWidth {sizes[1]}"
