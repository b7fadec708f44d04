"""The protocol is defined once: browser constants and docs follow server/realtime/protocol.py."""

from __future__ import annotations

from pathlib import Path

import httpx

from server.realtime.protocol import (
    ChannelKind,
    ClientType,
    ErrorCode,
    ServerType,
    javascript_constants,
)
from tests.support import ServerProcess

ROOT = Path(__file__).resolve().parents[2]


def test_browser_constants_are_generated_from_the_protocol_module() -> None:
    assert (ROOT / "static" / "protocol.js").read_text() == javascript_constants(), (
        "run: python -m server.realtime.protocol > static/protocol.js"
    )


def test_every_message_type_and_error_code_is_documented() -> None:
    doc = (ROOT / "docs" / "protocol.md").read_text()
    names = [*ClientType, *ServerType, *ErrorCode]
    missing = [n.value for n in names if f"`{n.value}`" not in doc and f'"{n.value}"' not in doc]
    assert missing == []
    assert [k.value for k in ChannelKind if f"`{k.value}:<" not in doc] == []


def test_openapi_lists_every_http_route(server: ServerProcess) -> None:
    schema = httpx.get(server.url + "/openapi.json").json()
    paths = schema["paths"]
    for path in (
        "/api/sessions/{session_id}/holds",
        "/api/sessions/{session_id}/orders",
        "/api/rooms/{room_id}/seat-plan",
        "/api/auth/login",
        "/healthz",
    ):
        assert path in paths, path
    post_hold = paths["/api/sessions/{session_id}/holds"]["post"]
    assert "409" in {str(k) for k in post_hold["responses"]}
