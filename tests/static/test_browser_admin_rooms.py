"""The back office's rooms page in a real headless Chromium, at tablet width, in French: a
pretix plan file is previewed on the map, then saved as the room's plan."""

from __future__ import annotations

import json

import pytest
from playwright.async_api import FilePayload, expect

from tests.browser import browser_context, sign_in
from tests.catalog.test_pretix_plans import PRETIX_PLAN
from tests.static.staff_pages import new_staff, watch_errors
from tests.static.test_browser_shop import SLOW_MS
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

TABLET = (820, 1180)


async def test_a_pretix_plan_is_previewed_then_saved(server: ServerProcess, admin: Api) -> None:
    venue = (await admin.http.post("/api/venues", json={"name": "Rooms page venue"})).json()
    room = (
        await admin.http.post(f"/api/venues/{venue['id']}/rooms", json={"name": "Molière"})
    ).json()
    organiser = await new_staff(admin, "admin")
    async with browser_context(*TABLET) as context:
        # a new user speaks French until she picks otherwise: the page follows her language
        await sign_in(context, server.url, organiser["username"], organiser["password"])
        page = await context.new_page()
        errors = watch_errors(page)
        await page.goto(f"{server.url}/admin-rooms.html")
        await expect(page.get_by_test_id("signed-in-as")).to_contain_text(
            organiser["username"], timeout=SLOW_MS
        )
        item = page.locator(f'[data-testid="room"][data-room-id="{room["id"]}"]')
        await expect(item).to_contain_text("pas encore de plan", timeout=SLOW_MS)
        await item.get_by_test_id("import-plan").click()
        await page.get_by_test_id("plan-file").set_input_files(
            files=FilePayload(
                name="pretix.json",
                mimeType="application/json",
                buffer=json.dumps(PRETIX_PLAN).encode(),
            )
        )
        await expect(page.get_by_test_id("plan-save")).to_be_disabled()
        await page.get_by_test_id("plan-preview").click()
        await expect(page.get_by_test_id("preview-title")).to_contain_text("4 places")
        preview_seats = page.get_by_test_id("preview-map").get_by_test_id("seat")
        await expect(preview_seats).to_have_count(4)
        venues = (await admin.http.get("/api/venues", params={"limit": 500})).json()["venues"]
        stored = {r["id"]: r for v in venues for r in v["rooms"]}
        assert stored[room["id"]]["seat_plan_id"] is None  # a preview stores nothing

        await page.get_by_test_id("plan-save").click()
        await expect(page.get_by_test_id("message").last).to_contain_text("Plan importé")
        await expect(item).to_contain_text("plan n°")

        # the language switch is the shared one: the page's own words follow it
        await page.get_by_test_id("language").select_option("en")
        await expect(item).to_contain_text("plan #")
        await expect(page.get_by_test_id("import-plan").first).to_have_text("Import a plan")
        assert errors == []

    venues = (await admin.http.get("/api/venues", params={"limit": 500})).json()["venues"]
    plan_id = {r["id"]: r for v in venues for r in v["rooms"]}[room["id"]]["seat_plan_id"]
    document = (await admin.http.get(f"/api/seat-plans/{plan_id}")).json()
    seat_ids = [s["id"] for z in document["zones"] for r in z["rows"] for s in r["seats"]]
    assert seat_ids == ["p-1-1", "p-1-2", "p-2-1", "b-a-1"]
