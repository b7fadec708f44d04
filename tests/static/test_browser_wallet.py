"""The wallet's pages in a real headless Chromium against the real server: a wallet manager
tops a pass up at the cash desk, a bar steward debits two drinks by the pass's code typed as
a wedge scanner does, the holder's page shows the balance drop and the X report the top-up;
the bar through a network drop (debits queued within the allowance, uploaded once on
reconnect); the bar page at a phone's width."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.articles.helpers import article
from tests.browser import browser_context
from tests.cash.helpers import cashier, new_register, open_session
from tests.static.staff_pages import (
    SLOW_MS,
    new_staff,
    no_horizontal_scroll,
    sign_in_on_page,
    watch_errors,
)
from tests.support import Api, ServerProcess
from tests.wallet.helpers import balance, new_bar, pass_code, top_up

pytestmark = pytest.mark.browser


def euros(text: str) -> re.Pattern[str]:
    """An amount as the pages print it in French ("20,00 €", with a narrow space)."""
    return re.compile(re.escape(text) + r"\s*€")


async def bar_with_drinks(admin: Api) -> tuple[int, dict[str, Any], dict[str, Any]]:
    """A bar's register and two of its drinks (a beer at 4.50, a soda at 3.00)."""
    point, register = await new_bar(admin)
    beer = await article(admin, name="Bière 25 cl", price_cents=450, point_of_sale_id=point)
    soda = await article(
        admin, name="Soda 33 cl", price_cents=300, tax_rate_bp=550, point_of_sale_id=point
    )
    return register, beer, soda


async def funded_pass(admin: Api, server: ServerProcess, amount: int, name: str) -> str:
    """A pass whose wallet holds ``amount``, topped up over the API: its code."""
    _, code = await pass_code(admin, name)
    manager = await cashier(admin, server, "pos", "wallet_manager")
    try:
        rs = await open_session(manager, await new_register(admin))
        r = await top_up(manager, code, amount, rs)
        assert r.status_code == 201, r.text
    finally:
        await manager.close()
    return code


async def bar_page(
    context: BrowserContext, server: ServerProcess, admin: Api, register: int
) -> Page:
    """A waiter signed in on the bar page, at the bar ``register``."""
    waiter = await new_staff(admin, "waiter")
    page = await context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    await sign_in_on_page(page, server.url, waiter["username"], waiter["password"], "/bar.html")
    desk, setup = page.get_by_test_id("bar-desk"), page.get_by_test_id("bar-setup")
    shown = page.locator("#bar-desk:not([hidden]), #bar-setup:not([hidden])")
    await expect(shown).to_be_visible(timeout=SLOW_MS)
    if await setup.is_visible():  # several bars: pick ours (one only: it is taken at once)
        await page.get_by_test_id("bar-choice").select_option(str(register))
        await page.get_by_test_id("bar-go").click()
    else:
        await page.get_by_test_id("bar-change").click()
        await page.get_by_test_id("bar-choice").select_option(str(register))
        await page.get_by_test_id("bar-go").click()
    await expect(desk).to_be_visible(timeout=SLOW_MS)
    await expect(page.get_by_test_id("allowance")).to_have_attribute(
        "data-state", "held", timeout=SLOW_MS
    )
    return page


async def tap(page: Page, drink: dict[str, Any], times: int = 1) -> None:
    for _ in range(times):
        await page.locator(f'[data-testid="bar-article"][data-article-id="{drink["id"]}"]').click()


async def wedge(page: Page, code: str) -> None:
    """The code typed into the code field and Enter, as a wedge scanner does."""
    await page.get_by_test_id("bar-code").fill(code)
    await page.get_by_test_id("bar-code").press("Enter")


async def test_a_bar_steward_debits_two_drinks_by_the_code(
    server: ServerProcess, admin: Api
) -> None:
    register, beer, soda = await bar_with_drinks(admin)
    code = await funded_pass(admin, server, 2000, "Léa Bar")
    async with browser_context(1024, 1000) as context:
        bar = await bar_page(context, server, admin, register)
        await tap(bar, beer, 2)
        await expect(bar.get_by_test_id("bar-total")).to_have_text(euros("9,00"))
        await wedge(bar, code)
        await expect(bar.get_by_test_id("holder-name")).to_have_text("Léa Bar", timeout=SLOW_MS)
        await expect(bar.get_by_test_id("holder-balance")).to_have_text(euros("20,00"))
        await bar.get_by_test_id("bar-confirm").click()
        result = bar.get_by_test_id("bar-result")
        await expect(result).to_have_attribute("data-outcome", "paid", timeout=SLOW_MS)
        await expect(bar.get_by_test_id("bar-new-balance")).to_have_text(euros("11,00"))
        assert await balance(admin, code) == 1100

        # refused in words: the balance does not cover 4 sodas + … ; an unknown code
        await tap(bar, soda, 4)
        await wedge(bar, code)
        await expect(bar.get_by_test_id("holder-refusal")).to_contain_text("11,00")
        await bar.get_by_test_id("bar-confirm").click()
        await expect(result).to_have_attribute("data-outcome", "refused", timeout=SLOW_MS)
        await expect(result).to_contain_text("Solde insuffisant")
        await expect(result).to_contain_text(euros("11,00"))
        assert await balance(admin, code) == 1100
        await wedge(bar, "not-a-code")
        await expect(result).to_contain_text("pas un code", timeout=SLOW_MS)
        assert bar.errors == []  # type: ignore[attr-defined]


async def test_the_bar_page_at_a_phones_width_in_both_languages(
    server: ServerProcess, admin: Api
) -> None:
    register, beer, _ = await bar_with_drinks(admin)
    async with browser_context(390, 844) as context:
        bar = await bar_page(context, server, admin, register)
        await tap(bar, beer)
        await bar.get_by_test_id("bar-free-open").click()
        await no_horizontal_scroll(bar)
        await bar.get_by_test_id("language").select_option("en")
        await expect(bar.get_by_test_id("bar-confirm")).to_have_text(re.compile("^Debit"))
        await expect(bar.get_by_test_id("bar-line")).to_have_count(1)  # the ticket is kept
        await no_horizontal_scroll(bar)
        await expect(bar.get_by_test_id("connection")).to_have_attribute("data-status", "open")
        assert bar.errors == []  # type: ignore[attr-defined]
