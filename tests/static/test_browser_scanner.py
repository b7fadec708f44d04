"""The door scanner page in a real headless Chromium: its offline verifier against codes
signed by ``scanning/codes.py``, and a steward's evening: scan online, lose the network,
keep scanning offline, get the queue uploaded on reconnect."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import BrowserContext, Page, Route, expect

from scanning.codes import KeyRing, TicketClaims, TicketScope, b45decode, b45encode, encode_code
from tests.browser import browser_context
from tests.conftest import ADMIN_PASSWORD
from tests.door.test_door_api import buy_tickets, code_of, db_fetch, door_session
from tests.static.staff_pages import sign_in_on_page
from tests.support import ROOT, Api, ServerProcess

SLOW_MS = 8000  # page loads, reconnects, uploads
STATIC = ROOT / "static"

pytestmark = pytest.mark.browser


# --------------------------------------------------------------------------- verifier

SESSION = 12
VERIFY = """async ({keys, cases}) => {
  const v = await import("/scanner-verify.js");
  const imported = await v.importKeys(keys);
  const out = [];
  for (const c of cases) {
    const r = await v.decideOffline(c.code, imported, {
      sessionId: c.session, now: c.now, revoked: new Set(c.revoked),
      entered: new Map(c.entered.map((id) => [id, {door: "north", at: "2030-01-01T19:00:00Z"}])),
      passes: c.passes ? new Map(c.passes.map((p) => [p.id, p])) : undefined,
    });
    out.push({reason: r.reason, result: r.result, ticket_id: r.ticket_id,
              holder: r.holder ? r.holder.name : null});
  }
  return out;
}"""


async def serve_static(route: Route) -> None:
    """Serves static/ as http://localhost (a secure context, as WebCrypto needs)."""
    path = route.request.url.split("localhost", 1)[1].split("?")[0].lstrip("/")
    if path == "blank.html":
        await route.fulfill(body="<!doctype html><title>verifier</title>", content_type="text/html")
        return
    file = STATIC / path
    if not file.is_file():
        await route.fulfill(status=404)
        return
    kind = "text/javascript" if file.suffix == ".js" else "text/html"
    await route.fulfill(body=file.read_bytes(), content_type=kind)


def claims(ticket_id: int, scope_id: int = SESSION, **window: int) -> TicketClaims:
    now = int(time.time())
    return TicketClaims.issue(
        ticket_id=ticket_id,
        scope=TicketScope.SESSION,
        scope_id=scope_id,
        valid_from=window.get("valid_from", now - 3600),
        valid_until=window.get("valid_until", now + 3600),
    )


def tampered(code: str) -> str:
    raw = bytearray(b45decode(code[2:]))
    raw[8] ^= 0x01  # one bit of the ticket id: the signature no longer matches
    return "GQ" + b45encode(bytes(raw))


async def run_verifier(cases: list[dict[str, Any]], public_keys: dict[int, bytes]) -> list[Any]:
    async with browser_context(1100, 800) as context:
        await context.route("http://localhost/**", serve_static)
        page = await context.new_page()
        await page.goto("http://localhost/blank.html")
        keys = {str(k): v.hex() for k, v in public_keys.items()}
        return list(await page.evaluate(VERIFY, {"keys": keys, "cases": cases}))


async def test_the_page_verifier_checks_passes_against_the_bundle() -> None:
    ring = KeyRing()
    ring.generate_key(1)
    now = int(time.time())
    pass_claims = TicketClaims.issue(
        ticket_id=5, scope=TicketScope.PASS, scope_id=5, valid_from=now - 60, valid_until=now + 600
    )
    code = encode_code(pass_claims, ring)
    listed = {
        "id": 5,
        "holder_name": "Ada Lovelace",
        "allowed": True,
        "ticket_id": None,
        "seed": pass_claims.seed.hex(),
    }

    def case(**extra: Any) -> dict[str, Any]:
        return {
            "code": code,
            "session": SESSION,
            "now": now,
            "revoked": [],
            "entered": [],
            "passes": [listed],
            **extra,
        }

    got = await run_verifier(
        [
            case(),
            case(entered=["pass:5"]),  # admitted offline earlier at this door
            case(passes=[{**listed, "ticket_id": 900}], entered=[900]),  # booked online
            case(passes=[{**listed, "allowed": False}]),
            case(passes=[]),  # not a pass of this session
            case(passes=[{**listed, "seed": "000000000000"}]),  # an older code of it
        ],
        ring.public_keys(),
    )
    assert [(r["result"], r["reason"], r["holder"]) for r in got] == [
        ("valid", None, "Ada Lovelace"),
        ("refused", "already_entered", "Ada Lovelace"),
        ("refused", "already_entered", "Ada Lovelace"),
        ("refused", "pass_not_valid_for_session", "Ada Lovelace"),
        ("refused", "pass_not_valid_for_session", None),
        ("refused", "revoked", "Ada Lovelace"),
    ]
    assert got[0]["ticket_id"] == "pass:5"  # never confused with ticket 5


async def test_the_page_verifier_agrees_with_the_python_signer() -> None:
    ring = KeyRing()
    ring.generate_key(3)
    other_ring = KeyRing()
    other_ring.generate_key(3)  # same key id, different key: a forger's
    now = int(time.time())
    valid = claims(2**40 + 77)  # a uint48 ticket id beyond 32 bits
    revoked = claims(78)
    late = claims(79, valid_from=now - 7200, valid_until=now - 60)
    early = claims(80, valid_from=now + 600, valid_until=now + 7200)
    code = encode_code(valid, ring)

    def case(text: str, **extra: Any) -> dict[str, Any]:
        return {"code": text, "session": SESSION, "now": now, "revoked": [], "entered": [], **extra}

    cases = [
        case(code),
        case(code + "\r\n"),  # a keyboard-wedge scanner's line ending
        case(tampered(code)),
        case(encode_code(valid, other_ring)),
        case(encode_code(claims(81, scope_id=SESSION + 1), ring)),
        case(encode_code(revoked, ring), revoked=[revoked.code_ref]),
        case(encode_code(revoked, ring), revoked=["78:000000000000"]),  # another code of it
        case(encode_code(late, ring)),
        case(encode_code(early, ring)),
        case(code, entered=[valid.ticket_id]),
        case("GQ" + code[2:-3]),
        case("https://example.org/not-a-ticket"),
    ]
    got = await run_verifier(cases, ring.public_keys())
    assert [(r["result"], r["reason"]) for r in got] == [
        ("valid", None),
        ("valid", None),
        ("refused", "forged"),
        ("refused", "forged"),
        ("refused", "wrong_session"),
        ("refused", "revoked"),
        ("valid", None),
        ("refused", "expired"),
        ("refused", "not_yet_valid"),
        ("refused", "already_entered"),
        ("refused", "unknown"),
        ("refused", "unknown"),
    ]
    assert got[0]["ticket_id"] == 2**40 + 77


# --------------------------------------------------------------------------- end to end


async def steward(admin: Api) -> tuple[str, str]:
    username, password = f"steward-{uuid.uuid4().hex[:8]}", "door-password-1"
    r = await admin.http.post(
        "/api/users",
        # English: the texts the tests read (a steward's scanner speaks the steward's language)
        json={
            "username": username,
            "password": password,
            "roles": ["entry_check"],
            "language": "en",
        },
    )
    assert r.status_code == 201, r.text
    return username, password


async def open_scanner(
    context: BrowserContext,
    server: ServerProcess,
    user: tuple[str, str],
    session_id: int,
    mode: str = "entry",
) -> Page:
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(f"{server.url}/scanner.html")
    await page.get_by_test_id("signin-link").click()
    await page.get_by_test_id("username").fill(user[0])
    await page.get_by_test_id("password").fill(user[1])
    await page.get_by_test_id("signin").click()
    await page.wait_for_url(f"{server.url}/scanner.html")
    await page.get_by_test_id("session-select").select_option(str(session_id))
    await page.get_by_test_id("door-input").fill("north")
    await page.get_by_test_id("mode-select").select_option(mode)
    await page.get_by_test_id("start-scanning").click()
    door = "north" if mode == "entry" else "north (exit)"
    await expect(page.get_by_test_id("scan-door")).to_have_text(door)
    await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "open")
    await expect(page.get_by_test_id("code-input")).to_be_focused()
    return page


async def wedge_scan(page: Page, code: str) -> None:
    """What a keyboard-wedge scanner does: type the code into the focused field, then Enter."""
    await expect(page.get_by_test_id("code-input")).to_be_focused()
    await page.keyboard.type(code)
    await page.keyboard.press("Enter")


async def expect_result(page: Page, count: int, result: str, reason: str, offline: bool) -> None:
    history = page.get_by_test_id("history-item")
    await expect(history).to_have_count(count, timeout=SLOW_MS)
    await expect(history.first).to_have_attribute("data-result", result)
    box = page.get_by_test_id("scan-result")
    await expect(box).to_have_attribute("data-result", result)
    await expect(box).to_have_attribute("data-reason", reason)
    await expect(box).to_have_attribute("data-offline", "true" if offline else "false")
    badge = page.get_by_test_id("offline-badge")
    await (expect(badge).to_be_visible() if offline else expect(badge).to_be_hidden())


async def test_scan_online_then_offline_then_upload(
    server: ServerProcess, admin: Api, buyer: Api, tmp_path: Path
) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 3)
    codes = [await code_of(admin, t) for t in tickets]
    user = await steward(admin)

    async with browser_context(1100, 800) as context:
        page = await open_scanner(context, server, user, session["id"])

        await wedge_scan(page, codes[0])
        await expect_result(page, 1, "valid", "", offline=False)
        await expect(page.get_by_test_id("result-ticket")).to_contain_text("Full")
        await expect(page.get_by_test_id("result-ticket")).to_contain_text("Seat")
        await page.screenshot(path=tmp_path / "valid.png")

        await wedge_scan(page, codes[0])
        await expect_result(page, 2, "refused", "already_entered", offline=False)
        await expect(page.get_by_test_id("result-reason")).to_contain_text("door north")
        await page.screenshot(path=tmp_path / "refused.png")
        await page.keyboard.press("Escape")  # the steward dismisses it; focus stays for the wedge
        await expect(page.get_by_test_id("scan-result")).to_be_hidden()
        await expect(page.get_by_test_id("code-input")).to_be_focused()
        await expect(page.get_by_test_id("count-entered")).to_have_text("1", timeout=SLOW_MS)

        # the network goes away: no switch to flip, the page notices and checks by itself
        await page.route("**/api/**", lambda route: route.abort())
        await context.set_offline(True)
        await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "closed")
        offline_from = datetime.now(UTC)
        await wedge_scan(page, codes[1])
        await expect_result(page, 3, "valid", "", offline=True)
        await wedge_scan(page, codes[2])
        await expect_result(page, 4, "valid", "", offline=True)
        await wedge_scan(page, codes[0])  # entered online before the cut
        await expect_result(page, 5, "refused", "already_entered", offline=True)
        await page.screenshot(path=tmp_path / "offline.png")
        offline_until = datetime.now(UTC)
        await expect(page.get_by_test_id("pending-uploads")).to_have_attribute("data-count", "3")

        # back online: the queue uploads by itself
        await page.unroute("**/api/**")
        await context.set_offline(False)
        await expect(page.get_by_test_id("pending-uploads")).to_have_attribute(
            "data-count", "0", timeout=SLOW_MS
        )
        await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "open")
        await expect(page.get_by_test_id("count-entered")).to_have_text("3", timeout=SLOW_MS)
        await page.keyboard.press("Escape")
        await page.screenshot(path=tmp_path / "scan-screen.png")
        assert page.errors == []  # type: ignore[attr-defined]

    rows = await db_fetch(
        "SELECT ticket_id, result, reason, scanned_at, received_at, offline, door FROM scans"
        " WHERE session_id = $1 ORDER BY scanned_at",
        session["id"],
    )
    online, offline = [r for r in rows if not r["offline"]], [r for r in rows if r["offline"]]
    assert [(r["ticket_id"], r["reason"]) for r in online] == [
        (tickets[0], None),
        (tickets[0], "already_entered"),
    ]
    assert [(r["ticket_id"], r["reason"]) for r in offline] == [
        (tickets[1], None),
        (tickets[2], None),
        (tickets[0], "already_entered"),
    ]
    for r in offline:  # the original time of the scan, not the upload's
        assert offline_from <= r["scanned_at"] <= offline_until < r["received_at"]
        assert r["door"] == "north"
    r = await admin.http.get(f"/api/sessions/{session['id']}/entries")
    counters = r.json()
    assert counters["entered"] == 3, counters
    assert counters["doors"]["north"]["entered"] == 3


async def test_an_exit_door_lets_out_who_is_inside_even_offline(
    server: ServerProcess, admin: Api, buyer: Api
) -> None:
    session = await door_session(admin)
    _, tickets = await buy_tickets(buyer, session, 3)
    codes = [await code_of(admin, t) for t in tickets]
    user = await steward(admin)
    for code in codes[:2]:  # both came in at the entrance
        r = await admin.http.post(
            "/api/scan", json={"code": code, "nonce": uuid.uuid4().hex, "door": "main"}
        )
        assert r.json()["result"] == "valid"

    async with browser_context(1100, 800) as context:
        page = await open_scanner(context, server, user, session["id"], mode="exit")
        await wedge_scan(page, codes[0])
        await expect_result(page, 1, "valid", "", offline=False)
        await expect(page.get_by_test_id("count-inside")).to_have_text("1", timeout=SLOW_MS)

        await page.route("**/api/**", lambda route: route.abort())
        await context.set_offline(True)
        await expect(page.get_by_test_id("connection")).to_have_attribute("data-status", "closed")
        await wedge_scan(page, codes[1])  # inside: may go out
        await expect_result(page, 2, "valid", "", offline=True)
        await wedge_scan(page, codes[1])  # already out
        await expect_result(page, 3, "refused", "not_inside", offline=True)
        await wedge_scan(page, codes[2])  # never came in
        await expect_result(page, 4, "refused", "not_inside", offline=True)

        await page.unroute("**/api/**")
        await context.set_offline(False)
        await expect(page.get_by_test_id("pending-uploads")).to_have_attribute(
            "data-count", "0", timeout=SLOW_MS
        )
        assert page.errors == []  # type: ignore[attr-defined]

    counters = (await admin.http.get(f"/api/sessions/{session['id']}/entries")).json()
    assert (counters["entered"], counters["exited"], counters["inside"]) == (2, 2, 0)


async def test_an_admin_enrols_a_scanner_with_its_qr_code(
    server: ServerProcess, admin: Api
) -> None:
    session = await door_session(admin)
    name = f"tablet-{uuid.uuid4().hex[:6]}"
    async with browser_context(1100, 800) as context:
        desk = await context.new_page()
        await sign_in_on_page(desk, server.url, "admin", ADMIN_PASSWORD, "/admin-devices.html")
        await desk.get_by_test_id("device-name").fill(name)
        await desk.get_by_test_id("device-room").select_option(str(session["room_id"]))
        await desk.get_by_test_id("create-device").click()
        await expect(desk.get_by_test_id("enrolment-qr")).to_be_visible()
        link = await desk.get_by_test_id("enrolment-link").get_attribute("href")
        assert link and "/scanner.html#enrol=" in link

        # what a phone does when its camera reads the QR code: open the URL
        phone = await context.new_page()
        await phone.goto(link)
        await expect(phone.get_by_test_id("device-info")).to_contain_text(f"device:{name}")
        options = phone.get_by_test_id("session-select").locator("option")
        await expect(options).to_have_count(1)  # the room filter of the device
        await expect(options.first).to_have_attribute("value", str(session["id"]))
        assert "enrol=" not in phone.url  # the one-time code does not stay in the address bar

        # the code was single-use
        other = await context.browser.new_context()  # type: ignore[union-attr]
        thief = await other.new_page()
        await thief.goto(link)
        await expect(thief.get_by_test_id("message")).to_contain_text("already used")
        await expect(thief.get_by_test_id("signin-link")).to_be_visible()
        await other.close()
