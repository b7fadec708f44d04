"""The seat picker embedded in an organiser's page: a page served from another origin (a
second local port) pastes the snippet; Chromium shows the session's live seats inside the
iframe, the frame grows to its content, and a hold made there is the shop's hold. The
embed page itself is refused to a site the key does not list."""

from __future__ import annotations

import functools
import http.server
import re
import threading
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect

from tests.browser import browser_context
from tests.static.test_browser_shop import SLOW_MS
from tests.support import Api, ServerProcess, free_port

pytestmark = pytest.mark.browser


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def organiser_site(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A tiny static website on a second local port: (its origin, its folder)."""
    port = free_port()
    handler = functools.partial(Quiet, directory=str(tmp_path))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}", tmp_path
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_an_organisers_page_embeds_the_seat_picker(
    server: ServerProcess, admin: Api, organiser_site: tuple[str, Path]
) -> None:
    origin, folder = organiser_site
    s = await admin.create_session(n_seats=24, per_row=8)
    r = await admin.http.post(
        "/api/api-keys", json={"name": "Festival site", "origins": [origin], "rate_per_minute": 60}
    )
    key = r.json()["key"]
    (folder / "index.html").write_text(
        "<!doctype html><html><head><meta charset='utf-8'><title>Festival</title></head>"
        "<body><h1>Our festival</h1><p>Pick your seats:</p>"
        f'<script src="{server.url}/embed.js" data-session="{s.id}" data-key="{key}"></script>'
        "<footer id='after'>Festival footer</footer></body></html>"
    )

    async with browser_context(width=1024, height=800) as context:
        page = await context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        await page.goto(origin + "/")
        frame_element = page.locator(f'iframe[data-guichet-session="{s.id}"]')
        await expect(frame_element).to_have_count(1)
        picker = page.frame_locator(f'iframe[data-guichet-session="{s.id}"]')
        seats = picker.get_by_test_id("seat")
        await expect(seats).to_have_count(24, timeout=SLOW_MS)
        await expect(picker.locator('[data-testid="seat"][data-state="free"]')).to_have_count(
            24, timeout=SLOW_MS
        )
        await expect(picker.get_by_test_id("session-title")).to_have_text(s.detail["event_name"])
        # the frame grew to its content through postMessage (past the 480 px minimum)
        await expect(frame_element).to_have_attribute(
            "data-height", re.compile(r"^\d+$"), timeout=SLOW_MS
        )
        height = int(await frame_element.get_attribute("data-height") or 0)
        assert height > 480
        box = await frame_element.bounding_box()
        assert box is not None and abs(box["height"] - height) <= 2

        # a hold made in the embedded picker is the shop's own
        target = s.seat_ids[5]
        seat = picker.locator(f'[data-testid="seat"][data-seat-id="{target}"]')
        await seat.click()
        await expect(seat).to_have_attribute("data-state", "mine", timeout=SLOW_MS)
        fill = (await admin.http.get(f"/api/sessions/{s.id}/fill")).json()
        assert fill["held"] == 1
        assert errors == []

    async with httpx.AsyncClient(base_url=server.url) as http:
        query = {"session": s.id, "key": key}
        ok = await http.get("/embed.html", params={**query, "origin": origin})
        assert ok.status_code == 200
        assert ok.headers["content-security-policy"] == f"frame-ancestors {origin}"
        stranger = await http.get("/embed.html", params={**query, "origin": "https://evil.example"})
        assert stranger.status_code == 403
        forged = await http.get("/embed.html", params={**query, "key": "gk_" + "x" * 43})
        assert forged.status_code == 401
