"""The wallet's pages in a real headless Chromium against the real server: a wallet manager
tops a pass up at the cash desk, a bar steward debits two drinks by the pass's code typed as
a wedge scanner does, the holder's page shows the balance drop and the X report the top-up;
the bar through a network drop (debits queued within the allowance, uploaded once on
reconnect); the bar page at a phone's width."""

from __future__ import annotations

import re
import uuid
from typing import Any
from urllib.parse import quote

import pytest
from playwright.async_api import BrowserContext, Locator, Page, Route, expect

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
from tests.static.test_browser_pos import PASSWORD, cashier_page
from tests.static.test_browser_pos import new_register as new_desk
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


async def wallet_tab(desk: Page, code: str, holder: str) -> Locator:
    """The cash desk's Wallet tab, opened on the wallet of ``code`` (its holder shown)."""
    await desk.get_by_test_id("tab-wallet").click()
    panel = desk.locator("#panel-wallet")
    await panel.get_by_test_id("wallet-code").fill(code)
    await panel.get_by_test_id("wallet-code").press("Enter")
    await expect(panel.get_by_test_id("wallet-holder-name")).to_have_text(holder, timeout=SLOW_MS)
    return panel


async def wallet_manager(admin: Api, pos_id: int) -> str:
    """A cashier who may top wallets up, at the desk ``pos_id``: the username."""
    username = f"manager-{uuid.uuid4().hex[:8]}"
    body = {
        "username": username,
        "password": PASSWORD,
        "display_name": "Camille Caisse",
        "roles": ["pos", "wallet_manager"],
        "points_of_sale": [pos_id],
    }
    r = await admin.http.post("/api/users", json=body)
    assert r.status_code == 201, r.text
    return username


async def test_top_up_at_the_desk_two_drinks_at_the_bar_the_holder_sees_the_drop(
    server: ServerProcess, admin: Api
) -> None:
    pos_id, desk_register, _ = await new_desk(admin)
    username = await wallet_manager(admin, pos_id)
    bar_register, beer, _ = await bar_with_drinks(admin)
    _, code = await pass_code(admin, "Léa Festival")
    async with browser_context(1024, 1100) as context:
        # the cash desk: 20.00 put on the pass, paid with a 50 note, 30.00 change
        desk = await cashier_page(context, server, username, desk_register)
        panel = await wallet_tab(desk, code, "Léa Festival")
        await expect(panel.get_by_test_id("wallet-balance")).to_have_text(euros("0,00"))
        await panel.locator('[data-testid="wallet-quick"][data-cents="2000"]').click()
        await expect(panel.get_by_test_id("pay-total")).to_have_text(euros("20,00"))
        await panel.get_by_test_id("pay-given").fill("50")
        await expect(panel.get_by_test_id("change-due")).to_have_text(euros("30,00"))
        await panel.get_by_test_id("pay-cash").click()
        receipt = desk.get_by_test_id("receipt")
        await expect(receipt).to_be_visible(timeout=SLOW_MS)
        await expect(receipt).to_contain_text("Rechargement de porte-monnaie")
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("20,00"))
        await expect(desk.get_by_test_id("receipt-change")).to_have_text(euros("30,00"))
        await expect(desk.get_by_test_id("change-banner")).to_contain_text(euros("30,00"))
        await expect(desk.get_by_test_id("wallet-new-balance")).to_contain_text(euros("20,00"))
        await desk.get_by_test_id("doc-close").click()

        # the last sales list it, to reprint, never to refund
        await desk.get_by_test_id("tab-journal").click()
        topup = desk.locator('[data-testid="journal-entry"][data-kind="wallet_topup"]')
        await expect(topup).to_have_count(1, timeout=SLOW_MS)
        await expect(topup).to_contain_text("Rechargement")
        await expect(topup.get_by_test_id("reprint")).to_be_visible()
        await expect(topup.get_by_test_id("refund-all")).to_have_count(0)
        await expect(topup.get_by_test_id("refund-line")).to_have_count(0)

        # the holder's page, from a link with the code in its fragment
        holder_context = await context.browser.new_context(  # type: ignore[union-attr]
            viewport={"width": 390, "height": 844}, locale="fr-FR"
        )
        holder = await holder_context.new_page()
        holder_errors = watch_errors(holder)
        await holder.goto(f"{server.url}/wallet.html#code={quote(code, safe='')}")
        await expect(holder.get_by_test_id("wallet-holder")).to_have_text(
            "Léa Festival", timeout=SLOW_MS
        )
        await expect(holder.get_by_test_id("wallet-balance")).to_have_text(euros("20,00"))
        await expect(holder.get_by_test_id("wallet-move")).to_have_count(1)

        # the bar, as a waiter on another device: two beers, the code typed as a wedge does
        bar_context = await context.browser.new_context(  # type: ignore[union-attr]
            viewport={"width": 800, "height": 1000}
        )
        bar = await bar_page(bar_context, server, admin, bar_register)
        await tap(bar, beer, 2)
        await wedge(bar, code)
        await expect(bar.get_by_test_id("holder-name")).to_have_text(
            "Léa Festival", timeout=SLOW_MS
        )
        await expect(bar.get_by_test_id("holder-balance")).to_have_text(euros("20,00"))
        await bar.get_by_test_id("bar-confirm").click()
        await expect(bar.get_by_test_id("bar-result")).to_have_attribute(
            "data-outcome", "paid", timeout=SLOW_MS
        )
        await expect(bar.get_by_test_id("bar-new-balance")).to_have_text(euros("11,00"))

        # the holder's page sees the drop by itself (it refreshes every 10 s)
        await expect(holder.get_by_test_id("wallet-balance")).to_have_text(
            euros("11,00"), timeout=13_000
        )
        moves = holder.get_by_test_id("wallet-move-amount")
        await expect(moves).to_have_count(2)
        await expect(moves.first).to_have_text(re.compile("^\u22129,00\\s*€"))
        await holder.get_by_test_id("language").select_option("en")
        await expect(holder.get_by_test_id("wallet-refresh")).to_contain_text("Refresh")
        await no_horizontal_scroll(holder)

        # the register statement: the X report has the top-up, in cash
        await desk.get_by_test_id("tab-register").click()
        await desk.get_by_test_id("x-report").click()
        report = desk.get_by_test_id("x-report")
        await expect(report).to_be_visible(timeout=SLOW_MS)
        row = report.locator('tr[data-kind="wallet_topup"]')
        await expect(row).to_contain_text("Rechargements de porte-monnaie")
        await expect(row).to_contain_text(euros("20,00"))
        assert desk.errors == [] and bar.errors == [] and holder_errors == []  # type: ignore[attr-defined]
        await holder_context.close()
        await bar_context.close()
    assert await balance(admin, code) == 1100


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


async def test_offline_debits_are_queued_within_the_allowance_and_uploaded_once(
    server: ServerProcess, admin: Api
) -> None:
    register, beer, _ = await bar_with_drinks(admin)
    code = await funded_pass(admin, server, 2000, "Hors Ligne")
    async with browser_context(800, 1000) as context:
        bar = await bar_page(context, server, admin, register)
        await expect(bar.get_by_test_id("allowance")).to_contain_text(euros("20,00"))
        await context.set_offline(True)
        await expect(bar.get_by_test_id("connection")).to_have_attribute(
            "data-status", "closed", timeout=SLOW_MS
        )
        await expect(bar.get_by_test_id("connection")).to_contain_text("Hors ligne")

        # within the allowance (20.00 per wallet): queued, said so
        await tap(bar, beer)
        await wedge(bar, code)
        await expect(bar.get_by_test_id("holder-offline")).to_contain_text(euros("20,00"))
        await bar.get_by_test_id("bar-confirm").click()
        result = bar.get_by_test_id("bar-result")
        await expect(result).to_have_attribute("data-outcome", "queued")
        await expect(bar.get_by_test_id("queue-count")).to_have_attribute("data-count", "1")
        await expect(bar.get_by_test_id("queued-sale")).to_contain_text("En attente")
        # beyond it (4.50 + 18.00 > 20.00): refused on the device, nothing queued
        await tap(bar, beer, 4)
        await wedge(bar, code)
        await bar.get_by_test_id("bar-confirm").click()
        await expect(result).to_have_attribute("data-outcome", "refused")
        await expect(result).to_contain_text(euros("15,50"))
        await expect(bar.get_by_test_id("queue-count")).to_have_attribute("data-count", "1")
        queued = await bar.evaluate("JSON.parse(localStorage.getItem('guichet.bar.queue'))")
        assert len(queued) == 1 and queued[0]["debits"][0]["amount_cents"] == 450
        assert await balance(admin, code) == 2000  # the server knows nothing yet

        # back online: the first upload reaches the server but its answer is lost; the page
        # keeps its queue and sends it again, which the server answers as already applied
        uploads: list[str] = []

        async def answer_lost_once(route: Route) -> None:
            uploads.append(route.request.url)
            if len(uploads) == 1:
                await route.fetch()
                await route.abort()
            else:
                await route.continue_()

        await bar.route("**/offline-debits", answer_lost_once)
        await context.set_offline(False)
        done = bar.get_by_test_id("upload-result")
        await expect(done).to_have_count(1, timeout=SLOW_MS * 2)
        await expect(done).to_have_attribute("data-outcome", "replayed")
        await expect(done).to_contain_text(euros("15,50"))
        await expect(bar.get_by_test_id("queue-count")).to_have_attribute("data-count", "0")
        await expect(bar.get_by_test_id("connection")).to_have_attribute("data-status", "open")
        assert len(uploads) == 2
        assert await balance(admin, code) == 1550  # once, though uploaded twice
        view = (await admin.http.post("/api/wallet", json={"code": code})).json()
        assert [(m["amount_cents"], m["offline"]) for m in view["history"]] == [
            (-450, True),
            (2000, False),
        ]
        assert bar.errors == []  # type: ignore[attr-defined]


async def test_the_wallet_tab_at_a_phones_width(server: ServerProcess, admin: Api) -> None:
    pos_id, desk_register, _ = await new_desk(admin)
    username = await wallet_manager(admin, pos_id)
    code = await funded_pass(admin, server, 1500, "Nadia Téléphone")
    async with browser_context(390, 844) as context:
        desk = await cashier_page(context, server, username, desk_register)
        await desk.get_by_test_id("tab-wallet").click()
        panel = desk.locator("#panel-wallet")
        await panel.get_by_test_id("wallet-code").fill(code)
        await panel.get_by_test_id("wallet-code").press("Enter")
        await expect(panel.get_by_test_id("wallet-balance")).to_have_text(
            euros("15,00"), timeout=SLOW_MS
        )
        await panel.get_by_test_id("wallet-amount").fill("12,50")
        await expect(panel.get_by_test_id("pay-total")).to_have_text(euros("12,50"))
        await expect(panel.locator('[data-method="split"]')).to_be_hidden()
        wide = await desk.evaluate(
            "[...document.querySelectorAll('#panel-wallet *')]"
            ".filter(e => e.getBoundingClientRect().right > innerWidth)"
            ".map(e => e.tagName + '.' + e.className).slice(0, 8)"
        )
        assert wide == []
        await no_horizontal_scroll(desk)
        await panel.get_by_test_id("pay-method-card").click()
        await panel.get_by_test_id("pay-card").click()
        await expect(desk.get_by_test_id("wallet-new-balance")).to_contain_text(
            euros("27,50"), timeout=SLOW_MS
        )
        await expect(desk.get_by_test_id("receipt-payments")).to_contain_text("Carte")
        assert desk.errors == []  # type: ignore[attr-defined]
