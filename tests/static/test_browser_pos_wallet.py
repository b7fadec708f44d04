"""A desk sale paid from a wallet in a real headless Chromium: a wallet manager tops a pass
up at the cash desk, sells two seats and takes them from the pass's wallet, the rest in
cash (a wallet part above the balance is refused in words first); the holder's wallet page
shows the desk purchase and the balance left. Then an article alone, from the wallet too."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from playwright.async_api import Page, expect

from tests.articles.helpers import article
from tests.browser import browser_context
from tests.static.staff_pages import SLOW_MS, watch_errors
from tests.static.test_browser_pos import LIVE_MS, cashier_page
from tests.static.test_browser_pos import new_register as new_desk
from tests.static.test_browser_shop import seat
from tests.static.test_browser_wallet import euros, wallet_manager, wallet_tab
from tests.support import Api, ServerProcess
from tests.wallet.helpers import balance, pass_code

pytestmark = pytest.mark.browser


async def top_up_on_page(desk: Page, code: str, cents: int) -> None:
    """Put one of the Wallet tab's quick amounts on Inès's pass, paid in cash."""
    panel = await wallet_tab(desk, code, "Inès Festival")
    await panel.locator(f'[data-testid="wallet-quick"][data-cents="{cents}"]').click()
    await panel.get_by_test_id("pay-cash").click()
    await expect(desk.get_by_test_id("receipt")).to_be_visible(timeout=SLOW_MS)
    await desk.get_by_test_id("doc-close").click()


async def test_top_up_then_two_seats_paid_from_the_wallet_and_in_cash(
    server: ServerProcess, admin: Api
) -> None:
    s = await admin.create_session(n_seats=8, per_row=4)
    pos_id, desk_register, _ = await new_desk(admin)
    username = await wallet_manager(admin, pos_id)
    _, code = await pass_code(admin, "Inès Festival")
    programme = await article(admin, name="Programme du soir", price_cents=450, stock=5)
    async with browser_context(1024, 1100) as context:
        desk = await cashier_page(context, server, username, desk_register)

        await top_up_on_page(desk, code, 2000)  # 20.00 put on the pass, in cash

        # two seats at 15.00
        await desk.get_by_test_id("tab-sell").click()
        sell = desk.locator("#panel-sell")
        await desk.locator(f'[data-testid="pos-session"][data-session-id="{s.id}"]').click()
        for seat_id in s.seat_ids[:2]:
            await expect(seat(desk, seat_id)).to_have_attribute(
                "data-state", "free", timeout=SLOW_MS
            )
            await seat(desk, seat_id).click()
            await expect(seat(desk, seat_id)).to_have_attribute(
                "data-state", "mine", timeout=LIVE_MS
            )
        await expect(sell.get_by_test_id("pay-total")).to_have_text(euros("30,00"))

        # the wallet: the holder's code, name and balance
        await sell.get_by_test_id("pay-method-wallet").click()
        await expect(sell.get_by_test_id("pay-method-wallet")).to_have_attribute(
            "aria-pressed", "true"
        )
        await sell.get_by_test_id("pay-wallet-code").fill(code)
        await sell.get_by_test_id("pay-wallet-code").press("Enter")
        await expect(sell.get_by_test_id("pay-wallet-name")).to_have_text(
            "Inès Festival", timeout=SLOW_MS
        )
        await expect(sell.get_by_test_id("pay-wallet-balance")).to_have_text(euros("20,00"))
        await expect(sell.get_by_test_id("pay-wallet-status")).to_have_text(re.compile("actif"))

        # more than the balance: refused in words, nothing taken
        await sell.get_by_test_id("pay-wallet-part").fill("25")
        await sell.get_by_test_id("pay-wallet").click()
        await expect(sell.get_by_test_id("pay-error")).to_have_attribute(
            "data-code", "insufficient_balance"
        )
        await expect(sell.get_by_test_id("pay-error")).to_contain_text("20,00")
        assert await balance(admin, code) == 2000

        # the whole balance, the rest in cash
        await sell.get_by_test_id("pay-wallet-part").fill("")
        await expect(sell.get_by_test_id("pay-wallet-rest")).to_have_text(euros("10,00"))
        await expect(sell.get_by_test_id("pay-wallet")).to_contain_text("espèces")
        await sell.get_by_test_id("pay-wallet").click()
        receipt = desk.get_by_test_id("receipt")
        await expect(receipt).to_be_visible(timeout=SLOW_MS)
        await expect(receipt).to_contain_text("Porte-monnaie")
        await expect(desk.get_by_test_id("receipt-total")).to_have_text(euros("30,00"))
        await expect(desk.get_by_test_id("messages")).to_contain_text(
            "Porte-monnaie de Inès Festival"
        )
        await desk.get_by_test_id("doc-close").click()
        assert await balance(admin, code) == 0

        # the holder's page shows the desk purchase
        holder = await context.new_page()
        holder_errors = watch_errors(holder)
        await holder.goto(f"{server.url}/wallet.html#code={quote(code, safe='')}")
        await expect(holder.get_by_test_id("wallet-balance")).to_have_text(
            euros("0,00"), timeout=SLOW_MS
        )
        moves = holder.get_by_test_id("wallet-move")
        await expect(moves).to_have_count(2)
        await expect(moves.first).to_have_attribute("data-kind", "sale")
        await expect(moves.first).to_contain_text("Achat au guichet")
        await expect(holder.get_by_test_id("wallet-move-amount").first).to_have_text(
            re.compile("^\u221220,00\\s*€")
        )
        assert holder_errors == []

        # 10.00 more on the pass, then an article alone paid from it
        await desk.bring_to_front()
        await top_up_on_page(desk, code, 1000)
        await desk.get_by_test_id("tab-articles").click()
        articles = desk.locator("#panel-articles")
        await articles.locator(
            f'[data-testid="article"][data-article-id="{programme["id"]}"]'
        ).click()
        await expect(articles.get_by_test_id("pay-total")).to_have_text(euros("4,50"))
        await articles.get_by_test_id("pay-method-wallet").click()
        await articles.get_by_test_id("pay-wallet-code").fill(code)
        await articles.get_by_test_id("pay-wallet-code").press("Enter")
        await expect(articles.get_by_test_id("pay-wallet-balance")).to_have_text(
            euros("10,00"), timeout=SLOW_MS
        )
        await articles.get_by_test_id("pay-wallet").click()
        await expect(desk.get_by_test_id("receipt")).to_contain_text(
            "Porte-monnaie", timeout=SLOW_MS
        )
        assert await balance(admin, code) == 550
        assert desk.errors == []  # type: ignore[attr-defined]
