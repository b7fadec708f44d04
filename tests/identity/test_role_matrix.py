"""Every route, channel and message against the role table: one user per role (made through
the admin API) and an anonymous caller call each HTTP operation of the app, subscribe to
each channel kind and send each message type; a caller whose role's permissions (the table
in ``docs/roles.md``) include what the declaration needs is let through, anyone else is
refused: ``401 authentication_required`` when anonymous, ``403 forbidden`` with ``needs``
when signed in (over the WebSocket, ``forbidden``).

The operations are the app's own list, so a new route is in the matrix as soon as it is
declared, and a declaration cannot be made without a permission (the last tests). The
requests carry no body and ids that do not exist: the check runs before the handler, so a
refusal is the declaration's, and a caller let through gets a 400 or a 404, nothing sold.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.app import FEEDS, MESSAGES, OPERATIONS
from server.identity.middleware import guard
from server.identity.pages import STAFF_PAGES
from server.identity.permissions import ALL_PERMISSIONS, Permission, any_of
from server.identity.roles import ALL_ROLES
from server.realtime.endpoint import BUILT_IN, MessageHandler
from server.realtime.protocol import ChannelKind, ClientType
from server.web.api import SIGNED_IN, Operation, Operations, Reply
from tests.support import ROOT, Api, ServerProcess, WsClient, staff_token

MISSING_ID = 987_654_321
MISSING_KEY = 250  # a signing key id in range that nobody made
ANONYMOUS = "anonymous"


def role_table() -> dict[str, frozenset[str]]:
    """The role → permissions table of ``docs/roles.md`` (``admin`` expanded)."""
    section = (ROOT / "docs" / "roles.md").read_text().split("\n## Roles\n", 1)[1]
    table: dict[str, frozenset[str]] = {}
    for line in section.split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0].startswith("`"):
            held = frozenset(re.findall(r"`([^`]+)`", cells[1]))
            table[cells[0].strip("`")] = ALL_PERMISSIONS if "admin" in held else held
    return table


ROLES = role_table()


def test_the_table_has_every_role_and_only_known_permissions() -> None:
    assert set(ROLES) == ALL_ROLES
    assert all(held <= ALL_PERMISSIONS for held in ROLES.values())


@pytest.fixture(scope="module")
async def callers(server: ServerProcess, admin_token: str) -> AsyncIterator[dict[str, str | None]]:
    """A token for a user of each role (``None`` for the anonymous caller)."""
    admin = Api(server.url, admin_token)
    try:
        roles = sorted(ROLES)
        tokens = await asyncio.gather(*(staff_token(admin, role) for role in roles))
    finally:
        await admin.close()
    yield {ANONYMOUS: None, **dict(zip(roles, tokens, strict=True))}


def allowed(caller: str, needs: tuple[str, ...]) -> bool:
    """``needs`` empty: public."""
    if not needs:
        return True
    if needs == (SIGNED_IN,):
        return caller != ANONYMOUS
    return caller != ANONYMOUS and bool(ROLES[caller] & set(needs))


def url_of(op: Operation) -> str:
    path = re.sub(r"\{key_id:int\}", str(MISSING_KEY), op.path)
    path = re.sub(r"\{\w+:int\}", str(MISSING_ID), path)
    return re.sub(r"\{\w+\}", "no-such-token-0000", path)


def verdict(caller: str, op: Operation, response: httpx.Response) -> str | None:
    """What is wrong with the answer, or ``None``."""
    status = response.status_code
    if op.website:  # a website's API key, whoever signed in: refused without one
        code = response.json().get("error", {}).get("code") if status == 401 else None
        return None if code == "api_key_required" else f"let through: {status}"
    if allowed(caller, op.needs):
        return None if status not in (401, 403) else f"refused: {response.text}"
    expected = (401, "authentication_required") if caller == ANONYMOUS else (403, "forbidden")
    error = response.json().get("error", {}) if status in (401, 403) else {}
    if (status, error.get("code")) != expected:
        return f"let through or refused otherwise: {status} {response.text[:200]}"
    if caller != ANONYMOUS and error.get("needs") != list(op.needs):
        return f"needs {error.get('needs')}, declared {list(op.needs)}"
    return None


async def test_every_operation_lets_in_exactly_the_roles_that_hold_its_permission(
    server: ServerProcess, callers: dict[str, str | None]
) -> None:
    wrong: list[str] = []
    for caller, token in callers.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            for op in OPERATIONS:
                response = await http.request(op.method, url_of(op))
                if (problem := verdict(caller, op, response)) is not None:
                    wrong.append(f"{caller}: {op.method} {op.path}: {problem}")
    assert wrong == []


def channel_needs() -> dict[ChannelKind, tuple[str, ...]]:
    """Every channel kind with what it needs (empty: anyone), from the feeds' declarations."""
    needs: dict[ChannelKind, tuple[str, ...]] = {}
    for feed in FEEDS:
        for kind, rule in feed.access.items():
            assert kind not in needs, f"{kind} is served twice"
            needs[kind] = () if rule is None else any_of(rule)
    return needs


async def reply_to(ws: WsClient, message: dict[str, Any]) -> dict[str, Any]:
    await ws.send(message)
    return await ws.until(lambda m: m.get("id") == message["id"])


async def test_every_channel_and_message_lets_in_exactly_the_roles_that_hold_its_permission(
    server: ServerProcess, callers: dict[str, str | None]
) -> None:
    channels = channel_needs()
    assert set(channels) == set(ChannelKind)
    handled = {h.type: () if h.needs is None else any_of(h.needs) for h in MESSAGES}
    assert set(ClientType) == set(BUILT_IN) | set(handled)
    wrong: list[str] = []
    for caller, token in callers.items():
        ws = await WsClient.connect(server.ws_url)
        try:
            if token:
                await ws.send({"type": "auth", "token": token})
                await ws.until(lambda m: m["type"] == "authenticated")
            tried = [
                *(
                    ({"type": "subscribe", "channel": f"{k}:{MISSING_ID}"}, n)
                    for k, n in channels.items()
                ),
                *(({"type": t.value}, n) for t, n in handled.items()),
            ]
            for ref, (message, needs) in enumerate(tried, start=1):
                reply = await reply_to(ws, {**message, "id": ref})
                refused = reply.get("code") == "forbidden"
                if refused == allowed(caller, needs):
                    wrong.append(f"{caller}: {message}: {reply}")
        finally:
            await ws.close()
    assert wrong == []


# -- a rule must be declared ---------------------------------------------------------------


class Thing(Reply):
    id: int


async def handler(request: Any) -> Any:
    """A handler."""


def test_an_operation_cannot_be_declared_without_a_permission() -> None:
    with pytest.raises(TypeError, match="permission"):
        Operations().get("/things", responses={200: Thing})(handler)  # type: ignore[call-arg]


def test_a_declaration_naming_no_known_permission_stops_the_start() -> None:
    for needs in ("sel", ("door.scan", "no.such"), ()):
        with pytest.raises(ValueError):
            guard(needs)
    guard(Permission.SELL)
    guard((Permission.SELL, Permission.RESERVE))


def test_a_message_handler_cannot_be_defined_without_what_it_needs() -> None:
    with pytest.raises(TypeError, match="needs"):

        class Silent(MessageHandler):  # a type, but no rule
            type = ClientType.SCAN


# -- staff pages ----------------------------------------------------------------------------


def page_table() -> dict[str, tuple[str, ...]]:
    """The staff pages of ``docs/roles.md`` with what each needs (``signed_in``: anyone
    signed in)."""
    section = (ROOT / "docs" / "roles.md").read_text().split("\n## Staff pages\n", 1)[1]
    table: dict[str, tuple[str, ...]] = {}
    for line in section.split("\n## ", 1)[0].splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) == 2 and cells[0].startswith("`/"):
            needs = tuple(re.findall(r"`([^`]+)`", cells[1])) or (SIGNED_IN,)
            table[cells[0].strip("`")] = needs
    return table


def test_the_page_table_is_the_declared_pages_and_each_exists() -> None:
    declared = {p.path: p.needs for p in STAFF_PAGES}
    assert set(page_table()) == set(declared)
    assert [p for p in declared if not (ROOT / "static" / p[1:]).is_file()] == []


async def test_every_staff_page_opens_for_exactly_the_roles_that_hold_its_permission(
    server: ServerProcess, callers: dict[str, str | None]
) -> None:
    """Anonymous: 303 to the sign-in page, which comes back here; roles without the page's
    permission: 403; the others get the page."""
    wrong: list[str] = []
    for caller, token in callers.items():
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with httpx.AsyncClient(base_url=server.url, headers=headers, timeout=30) as http:
            for path, needs in page_table().items():
                r = await http.get(path, follow_redirects=False)
                expected: tuple[int, str | None]
                got: tuple[int, str | None]
                if caller == ANONYMOUS:
                    expected = (303, f"/signin.html?next={path}")
                    got = (r.status_code, r.headers.get("location"))
                elif allowed(caller, needs):
                    expected, got = (200, None), (r.status_code, None)
                else:
                    expected, got = (403, None), (r.status_code, None)
                if got != expected:
                    wrong.append(f"{caller}: {path}: {got}, expected {expected}")
    assert wrong == []
