"""Real headless Chromium for the browser tests: Debian's `chromium`, driven by Playwright.

Playwright's own browser download is not used (nor available here): the tests launch the
system Chromium by path, with the flags a closed network needs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from playwright.async_api import BrowserContext, async_playwright

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@asynccontextmanager
async def browser_context(
    width: int = 1280, height: int = 900, **options: Any
) -> AsyncIterator[BrowserContext]:
    """A fresh browser and context, closed afterwards (``options``: Playwright's context
    options, e.g. ``has_touch=True, is_mobile=True`` for a phone)."""
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield await browser.new_context(viewport={"width": width, "height": height}, **options)
        finally:
            await browser.close()


async def sign_in(context: BrowserContext, base_url: str, username: str, password: str) -> None:
    """Sign the browser in as a member of staff (the session cookie lands in its jar)."""
    response = await context.request.post(
        f"{base_url}/api/auth/session", data={"username": username, "password": password}
    )
    assert response.ok, await response.text()
