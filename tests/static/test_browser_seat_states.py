"""Every seat state told apart without colour: the marks of seatmap.js (a cross on sold seats,
a bar on unavailable ones, a tick on mine, stripes on those held by another buyer) checked in
the DOM and the legend, and in screenshots of the map rendered by Chromium under simulated
colour-vision deficiencies (CDP ``Emulation.setEmulatedVisionDeficiency``), compared by shape
only."""

from __future__ import annotations

import io
from itertools import combinations

import pytest
from PIL import Image, ImageChops, ImageOps, ImageStat
from playwright.async_api import FloatRect, Page, expect

from tests.browser import browser_context
from tests.static.test_browser_shop import LIVE_MS, open_session, seat
from tests.support import Api, ServerProcess

pytestmark = pytest.mark.browser

DEFICIENCIES = ["none", "deuteranopia", "protanopia", "achromatopsia"]
STATES = ["free", "mine", "held", "sold", "unavailable"]


async def seats_in_every_state(page: Page, buyer: Api, s: object) -> dict[str, str]:
    ids: list[str] = s.seat_ids  # type: ignore[attr-defined]
    chosen = {"free": ids[14], "mine": ids[15], "held": ids[16], "sold": ids[17]}
    chosen["unavailable"] = ids[18]
    held = await buyer.hold(s.id, [chosen["held"]])  # type: ignore[attr-defined]
    assert held.status_code == 200, held.text
    sold = await buyer.hold(s.id, [chosen["sold"]])  # type: ignore[attr-defined]
    token = sold.json()["token"]
    r = await buyer.buy(s.id, token, [chosen["sold"]], s.tariff_ids[0])  # type: ignore[attr-defined]
    assert r.status_code in (200, 201), r.text
    await seat(page, chosen["mine"]).click()
    for state, seat_id in chosen.items():
        await expect(seat(page, seat_id)).to_have_attribute("data-state", state, timeout=LIVE_MS)
    return chosen


def interior(png: bytes) -> Image.Image | None:
    """The inside of a seat (its middle, within the outline) in black and white: the mark or
    pattern drawn there, whatever its hue or brightness; None when it is plain."""
    image = Image.open(io.BytesIO(png)).convert("RGB")
    w, h = image.size
    middle = image.crop((w * 0.22, h * 0.22, w * 0.78, h * 0.78)).resize((24, 24))
    grey = ImageOps.grayscale(middle)
    if ImageStat.Stat(grey).stddev[0] < 8:
        return None
    return ImageOps.autocontrast(grey).point(lambda v: 255 if v > 127 else 0)


def difference(a: Image.Image, b: Image.Image) -> float:
    """How far two marks differ in shape (either may be light on dark or dark on light)."""
    d = ImageStat.Stat(ImageChops.difference(a, b)).mean[0]
    inverted = ImageStat.Stat(ImageChops.difference(a, ImageOps.invert(b))).mean[0]
    return float(min(d, inverted))


async def test_seat_states_differ_by_mark_in_the_dom_and_the_legend(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    s = await admin.create_session(n_seats=60, per_row=12, blocked=["floor-B-7"])
    async with browser_context(900, 800) as context:
        page = await open_session(context, server, s.id)
        chosen = await seats_in_every_state(page, buyer, s)
        marks = await page.evaluate(
            """(chosen) => Object.fromEntries(Object.entries(chosen).map(([state, id]) => {
                const el = document.querySelector(`[data-testid="seat"][data-seat-id="${id}"]`);
                const glyph = document.querySelector(
                  `[data-testid="seat-glyph"][data-seat-id="${id}"]`);
                const fill = getComputedStyle(el).fill;
                return [state, `${glyph ? glyph.dataset.glyph : "none"}/`
                  + `${fill.startsWith("url") ? "pattern" : "plain"}`];
            }))""",
            chosen,
        )
        assert marks == {
            "free": "none/plain",
            "mine": "check/plain",
            "held": "none/pattern",
            "sold": "cross/plain",
            "unavailable": "bar/plain",
        }
        legend = await page.evaluate(
            """() => Object.fromEntries(
                [...document.querySelectorAll('#legend .swatch[data-state]')].map((el) => [
                  el.dataset.state,
                  getComputedStyle(el, '::after').content
                    + '|' + getComputedStyle(el).backgroundImage.slice(0, 24)]))"""
        )
        assert len(set(legend.values())) == len(STATES), legend


@pytest.mark.parametrize("deficiency", DEFICIENCIES)
async def test_seat_states_differ_by_shape_under_colour_vision_deficiencies(
    server: ServerProcess, admin: Api, buyer: Api, deficiency: str
) -> None:
    s = await admin.create_session(n_seats=60, per_row=12, blocked=["floor-B-7"])
    async with browser_context(900, 800) as context:
        page = await open_session(context, server, s.id)
        chosen = await seats_in_every_state(page, buyer, s)
        await page.mouse.move(0, 0)  # no hover, no tooltip
        await page.evaluate("document.activeElement.blur()")
        cdp = await page.context.new_cdp_session(page)
        await cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": deficiency})
        pictures = {}
        for state in STATES:
            box = await seat(page, chosen[state]).bounding_box()
            assert box and box["width"] >= 16
            clip = FloatRect(x=box["x"], y=box["y"], width=box["width"], height=box["height"])
            pictures[state] = interior(await page.screenshot(clip=clip, animations="disabled"))
        await cdp.detach()
        plain = [state for state, picture in pictures.items() if picture is None]
        assert plain == ["free"], f"{deficiency}: plain seats {plain}: told apart by colour only"
        marked = [state for state in STATES if state != "free"]
        for a, b in combinations(marked, 2):
            pa, pb = pictures[a], pictures[b]
            assert pa is not None and pb is not None
            d = difference(pa, pb)
            assert d > 20, f"{deficiency}: {a} and {b} look alike by shape ({d:.1f})"
