"""The staff pages in a real headless Chromium against the real server: sign-in, the staff
home by permission, creating staff on admin-users.html, a disabled user thrown out of an open
page, phone widths, and the language switch."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

import pytest
from playwright.async_api import BrowserContext, Page, expect

from tests.browser import browser_context
from tests.conftest import ADMIN_PASSWORD
from tests.static.staff_pages import (
    SLOW_MS,
    new_staff,
    no_horizontal_scroll,
    sign_in_on_page,
    watch_errors,
)
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

STAFF_PASSWORD = "staff-password-1"


async def create_on_page(page: Page, username: str, role: str) -> None:
    """Fill admin-users.html's form for a user holding one role, submit, see it listed."""
    await page.get_by_test_id("new-username").fill(username)
    await page.get_by_test_id("new-display-name").fill(username.title())
    await page.get_by_test_id("new-password").fill(STAFF_PASSWORD)
    await page.get_by_test_id("new-roles").get_by_test_id(f"role-{role}").check()
    await page.get_by_test_id("create-user").click()
    row = page.locator(f'[data-testid="user-row"][data-username="{username}"]')
    await expect(row).to_be_visible(timeout=SLOW_MS)
    await expect(row.get_by_test_id("user-roles")).to_have_text(role)
    await expect(page.get_by_test_id("create-error")).to_be_hidden()


async def saved_language(admin: Api, username: str) -> str:
    """The user's language as the server keeps it, once the page's PATCH has landed."""
    language = ""
    for _ in range(50):
        r = await admin.http.get("/api/users", params={"q": username})
        assert r.status_code == 200, r.text
        language = next(u["language"] for u in r.json()["items"] if u["username"] == username)
        if language == "en":
            break
        await asyncio.sleep(0.1)
    return language


async def staff_home_of(context: BrowserContext, server: ServerProcess, username: str) -> Page:
    page = await context.new_page()
    page.errors = watch_errors(page)  # type: ignore[attr-defined]
    await sign_in_on_page(page, server.url, username, STAFF_PASSWORD, "/staff.html")
    await expect(page.get_by_test_id("signed-in-as")).to_contain_text(username.title())
    return page


async def test_an_admin_creates_a_cashier_and_a_steward_who_each_see_only_their_page(
    server: ServerProcess, admin: Api
) -> None:
    cashier = f"cashier-{uuid.uuid4().hex[:6]}"
    steward = f"steward-{uuid.uuid4().hex[:6]}"
    async with browser_context() as context:
        page = await context.new_page()
        errors = watch_errors(page)
        # an admin signs in on the sign-in page and lands on the staff home
        await page.goto(f"{server.url}/signin.html")
        await page.get_by_test_id("username").fill("admin")
        await page.get_by_test_id("password").fill("not the password")
        await page.get_by_test_id("signin").click()
        await expect(page.get_by_test_id("signin-error")).to_have_attribute(
            "data-code", "bad_credentials"
        )
        await page.get_by_test_id("password").fill(ADMIN_PASSWORD)
        await page.get_by_test_id("signin").click()
        await page.wait_for_url(f"{server.url}/staff.html", timeout=SLOW_MS)
        await expect(page.get_by_test_id("page-users")).to_be_visible()
        await expect(page.get_by_test_id("page-audit")).to_be_visible()

        await page.get_by_test_id("page-users").click()
        await page.wait_for_url(f"{server.url}/admin-users.html")
        await create_on_page(page, cashier, "pos")
        await create_on_page(page, steward, "entry_check")

        # a too short password is refused by the server, and the page says so by its code
        await page.get_by_test_id("new-username").fill(f"weak-{uuid.uuid4().hex[:6]}")
        await page.get_by_test_id("new-password").fill("short")
        await page.get_by_test_id("create-user").click()
        await expect(page.get_by_test_id("create-error")).to_have_attribute(
            "data-code", "weak_password"
        )
        await expect(page.get_by_test_id("create-error")).to_contain_text("weak_password")
        assert errors == []

    async with browser_context() as context:
        home = await staff_home_of(context, server, cashier)
        await expect(home.get_by_test_id("staff-pages").locator("a")).to_have_count(1)
        await expect(home.get_by_test_id("page-pos")).to_have_attribute("href", "/pos.html")

        # a page the cashier may not open: the server's 403 page or the page's own answer
        response = await home.goto(f"{server.url}/admin-users.html")
        assert response is not None
        if response.status != 403:
            await expect(home.get_by_test_id("not-allowed")).to_be_visible(timeout=SLOW_MS)
        await expect(home.locator('a[href="/staff.html"]').first).to_be_visible()
        await expect(home.get_by_test_id("users")).to_have_count(0)
        assert home.errors == []  # type: ignore[attr-defined]

    async with browser_context() as context:
        home = await staff_home_of(context, server, steward)
        await expect(home.get_by_test_id("staff-pages").locator("a")).to_have_count(1)
        await expect(home.get_by_test_id("page-scanner")).to_have_attribute("href", "/scanner.html")
        # the steward's scanner uses the cookie session: straight to choosing a session
        await home.get_by_test_id("page-scanner").click()
        await expect(home.get_by_test_id("setup-form")).to_be_visible(timeout=SLOW_MS)
        assert home.errors == []  # type: ignore[attr-defined]


async def test_a_disabled_user_is_thrown_out_of_the_open_dashboard(
    server: ServerProcess, admin: Api
) -> None:
    user = await new_staff(admin, "stats", password=STAFF_PASSWORD)
    async with browser_context() as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, user["username"], STAFF_PASSWORD, "/dashboard.html")
        await expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-status", "open", timeout=SLOW_MS
        )
        await page.evaluate("window.__notReloadedByTheTest = true")

        r = await admin.http.post(f"/api/users/{user['id']}/disable")
        assert r.status_code == 200, r.text
        assert r.json()["disabled"] is True

        # the WebSocket's token_revoked frame sends the page to sign-in by itself
        await page.wait_for_url(f"{server.url}/signin.html?next=**", timeout=SLOW_MS)
        assert "dashboard.html" in page.url
        await expect(page.get_by_test_id("signin-form")).to_be_visible()

        # and signing in again is refused while disabled
        await page.get_by_test_id("username").fill(user["username"])
        await page.get_by_test_id("password").fill(STAFF_PASSWORD)
        await page.get_by_test_id("signin").click()
        await expect(page.get_by_test_id("signin-error")).to_have_attribute(
            "data-code", "user_disabled"
        )
        assert errors == []


@pytest.mark.parametrize("width", [390, 768])
async def test_sign_in_and_users_fit_a_phone_and_a_tablet(
    server: ServerProcess, width: int, tmp_path: Path
) -> None:
    async with browser_context(width, 844) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"{server.url}/signin.html")
        await expect(page.get_by_test_id("signin-form")).to_be_visible()
        await no_horizontal_scroll(page)
        await page.screenshot(path=tmp_path / f"signin-{width}.png", full_page=True)

        await sign_in_on_page(page, server.url, "admin", ADMIN_PASSWORD, "/admin-users.html")
        await expect(page.get_by_test_id("user-row").first).to_be_visible(timeout=SLOW_MS)
        await no_horizontal_scroll(page)
        await page.screenshot(path=tmp_path / f"users-{width}.png", full_page=True)

        await page.goto(f"{server.url}/staff.html")
        await expect(page.get_by_test_id("page-users")).to_be_visible()
        await no_horizontal_scroll(page)
        assert errors == []


async def test_the_language_switch_translates_the_page_and_is_kept_for_the_user(
    server: ServerProcess, admin: Api
) -> None:
    user = await new_staff(admin, "admin", password=STAFF_PASSWORD)
    async with browser_context() as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(
            page, server.url, user["username"], STAFF_PASSWORD, "/admin-users.html"
        )
        language = page.get_by_test_id("language")

        await language.select_option("en")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Users")
        await expect(page.get_by_test_id("create-user")).to_have_text("Create the account")
        await expect(page.get_by_test_id("sign-out")).to_have_text("Sign out")
        assert await page.evaluate("document.documentElement.lang") == "en"

        await language.select_option("fr")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Utilisateurs")
        await expect(page.get_by_test_id("create-user")).to_have_text("Créer le compte")
        await expect(page.get_by_test_id("sign-out")).to_have_text("Se déconnecter")
        assert await page.evaluate("document.documentElement.lang") == "fr"

        # the choice is the user's: another browser shows it in English after sign-in
        await language.select_option("en")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Users")
        assert await saved_language(admin, user["username"]) == "en"
        assert errors == []

    async with browser_context() as context:
        page = await context.new_page()
        await sign_in_on_page(page, server.url, user["username"], STAFF_PASSWORD, "/staff.html")
        await expect(page.get_by_role("heading", level=1)).to_have_text("Staff home")


async def test_a_user_changes_their_password_from_the_header(
    server: ServerProcess, admin: Api
) -> None:
    user = await new_staff(admin, "stats", password=STAFF_PASSWORD)
    async with browser_context() as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, user["username"], STAFF_PASSWORD, "/staff.html")
        await page.get_by_test_id("change-password").click()
        await expect(page.get_by_test_id("password-form")).to_be_visible()

        await page.get_by_test_id("current-password").fill("not my password")
        await page.get_by_test_id("new-password").fill("a-new-password-2")
        await page.get_by_test_id("repeat-password").fill("a-new-password-2")
        await page.get_by_test_id("change-password-submit").click()
        await expect(page.get_by_test_id("password-error")).to_have_attribute(
            "data-code", "bad_credentials"
        )

        await page.get_by_test_id("current-password").fill(STAFF_PASSWORD)
        await page.get_by_test_id("change-password-submit").click()
        await expect(page.get_by_test_id("password-ok")).to_be_visible()
        # this page's session was renewed: it still works, and signs out cleanly
        await page.goto(f"{server.url}/staff.html")
        await expect(page.get_by_test_id("page-dashboard")).to_be_visible()
        await page.get_by_test_id("sign-out").click()
        await page.wait_for_url(f"{server.url}/signin.html", timeout=SLOW_MS)
        assert errors == []

    r = await admin.http.post(
        "/api/auth/login", json={"username": user["username"], "password": STAFF_PASSWORD}
    )
    assert r.status_code == 401
    r = await admin.http.post(
        "/api/auth/login", json={"username": user["username"], "password": "a-new-password-2"}
    )
    assert r.status_code == 200, r.text


async def test_the_audit_log_filters_and_downloads_what_it_shows(
    server: ServerProcess, admin: Api
) -> None:
    user = await new_staff(admin, "stats")
    async with browser_context() as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, "admin", ADMIN_PASSWORD, "/admin-audit.html")
        await expect(page.get_by_test_id("audit-entry").first).to_be_visible(timeout=SLOW_MS)

        await page.get_by_test_id("audit-action").fill("user.")
        await page.get_by_test_id("audit-subject").fill(f"user:{user['id']}")
        await (
            page.get_by_role("button", name="Filtrer")
            .or_(page.get_by_role("button", name="Filter"))
            .click()
        )
        entries = page.get_by_test_id("audit-entry")
        await expect(entries).to_have_count(1, timeout=SLOW_MS)
        await expect(entries.first).to_have_attribute("data-action", "user.create")
        await expect(entries.first).to_contain_text(user["username"])

        href = await page.get_by_test_id("audit-csv").get_attribute("href")
        assert href is not None and href.startswith("/api/audit.csv?")
        assert "action=user." in href and f"subject=user%3A{user['id']}" in href
        csv = await page.evaluate(
            "(url) => fetch(url, {credentials: 'same-origin'}).then((r) => r.text())", href
        )
        lines = [line for line in csv.splitlines() if line]
        assert len(lines) == 2 and "user.create" in lines[1], csv
        assert errors == []


async def test_an_admin_edits_roles_but_not_their_own(server: ServerProcess, admin: Api) -> None:
    async with browser_context() as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, "admin", ADMIN_PASSWORD, "/admin-users.html")
        await page.get_by_test_id("user-search").fill("admin")
        await page.get_by_test_id("user-search").press("Enter")
        row = page.locator('[data-testid="user-row"][data-username="admin"]')
        await row.get_by_test_id("user-edit").click()
        editor = page.get_by_test_id("user-editor")
        await editor.get_by_test_id("role-stats").check()
        await editor.get_by_test_id("edit-save").click()
        await expect(editor.get_by_test_id("edit-error")).to_have_attribute(
            "data-code", "not_yourself"
        )
        await expect(editor.get_by_test_id("edit-error")).to_contain_text("not_yourself")
        await (
            editor.get_by_role("button", name="Fermer")
            .or_(editor.get_by_role("button", name="Close"))
            .click()
        )

        # another user's roles change, and the list shows it
        user = await new_staff(admin, "stats")
        await page.get_by_test_id("user-search").fill(user["username"])
        await page.get_by_test_id("user-search").press("Enter")
        row = page.locator(f'[data-testid="user-row"][data-username="{user["username"]}"]')
        await row.get_by_test_id("user-edit").click()
        await editor.get_by_test_id("role-entry_check").check()
        await editor.get_by_test_id("edit-save").click()
        await expect(editor).to_be_hidden()
        await expect(row.get_by_test_id("user-roles")).to_contain_text("entry_check")
        r = await admin.http.get("/api/users", params={"q": user["username"]})
        assert sorted(r.json()["items"][0]["roles"]) == ["entry_check", "stats"]
        assert errors == []


async def test_a_device_is_enrolled_then_revoked_on_the_devices_page(
    server: ServerProcess, admin: Api
) -> None:
    name = f"tablet-{uuid.uuid4().hex[:6]}"
    async with browser_context(390, 844) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        await sign_in_on_page(page, server.url, "admin", ADMIN_PASSWORD, "/admin-devices.html")
        await page.get_by_test_id("device-name").fill(name)
        await page.get_by_test_id("create-device").click()
        await expect(page.get_by_test_id("enrolment-qr")).to_be_visible(timeout=SLOW_MS)
        row = page.locator(f'[data-testid="device-row"][data-device="{name}"]')
        await expect(row).to_be_visible()
        await expect(row.get_by_test_id("device-revoked")).to_have_count(0)
        await no_horizontal_scroll(page)

        page.once("dialog", lambda dialog: dialog.accept())
        await row.get_by_test_id("device-revoke").click()
        await expect(row.get_by_test_id("device-revoked")).to_be_visible(timeout=SLOW_MS)
        await expect(row.get_by_test_id("device-revoke")).to_have_count(0)
        assert errors == []
    r = await admin.http.get("/api/devices")
    assert [d["revoked"] for d in r.json()["devices"] if d["name"] == name] == [True]


async def test_a_page_without_a_socket_notices_a_disabled_user_when_shown_again(
    server: ServerProcess, admin: Api
) -> None:
    user = await new_staff(admin, "stats", password=STAFF_PASSWORD)
    async with browser_context() as context:
        page = await context.new_page()
        await sign_in_on_page(page, server.url, user["username"], STAFF_PASSWORD, "/staff.html")
        await expect(page.get_by_test_id("page-dashboard")).to_be_visible()
        r = await admin.http.post(f"/api/users/{user['id']}/disable")
        assert r.status_code == 200, r.text
        # the tab comes back to the front
        await page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
        await page.wait_for_url(f"{server.url}/signin.html?next=**", timeout=SLOW_MS)
        assert "staff.html" in page.url


async def test_a_cashier_signs_in_to_the_cash_desk_and_is_asked_to_open_a_register(
    server: ServerProcess, admin: Api
) -> None:
    """The desk's shift itself is tests/static/test_browser_pos.py's."""
    cashier = await new_staff(admin, "pos", password=STAFF_PASSWORD)
    async with browser_context(768, 1000) as context:
        page = await context.new_page()
        errors = watch_errors(page)
        # signed out, the cash desk goes through the sign-in page and back
        await page.goto(f"{server.url}/pos.html")
        await page.get_by_test_id("username").fill(cashier["username"])
        await page.get_by_test_id("password").fill(STAFF_PASSWORD)
        await page.get_by_test_id("signin").click()
        await page.wait_for_url(f"{server.url}/pos.html", timeout=SLOW_MS)
        await expect(page.get_by_test_id("connection")).to_have_attribute(
            "data-status", "open", timeout=SLOW_MS
        )
        # no register session yet: the page asks to open one, in her language
        await expect(page.get_by_test_id("open-view")).to_be_visible(timeout=SLOW_MS)
        await expect(page.get_by_test_id("open-view").locator("h1")).to_have_text(
            "Ouvrir une caisse"
        )
        await expect(page.get_by_test_id("register-status")).to_have_attribute(
            "data-state", "closed"
        )
        await no_horizontal_scroll(page)
        assert errors == []
