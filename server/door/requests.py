"""A scan as the door receives it (over HTTP, the WebSocket or an offline upload), parsed
and bounded at the edge."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from scanning.decision import Mode
from scanning.names import is_door_name, is_nonce
from server.identity.auth import Principal
from server.platform.errors import Invalid
from server.web.requests import field, id_field, timestamp

MAX_BATCH = 20_000


@dataclass(frozen=True, slots=True)
class ScanRequest:
    code: str
    nonce: str
    door: str
    scanned_at: datetime
    session_id: int | None = None
    room_id: int | None = None
    mode: Mode = Mode.ENTRY


def check_door(door: str) -> str:
    if not is_door_name(door):
        raise Invalid("invalid_field", "'door' is 1-40 letters, digits, '_.-'", field="door")
    return door


def check_nonce(nonce: str) -> str:
    if not is_nonce(nonce):
        raise Invalid("invalid_field", "'nonce' is 8-64 letters, digits, '_.-'", field="nonce")
    return nonce


def device_of(principal: Principal, device: str | None) -> str:
    """Scans are stored per device; a device name is scoped to the signed-in account."""
    name = check_door(device) if device else "default"
    return f"{principal.username}/{name}"


def scan_mode(body: dict[str, Any]) -> Mode:
    raw = field(body, "mode", str, Mode.ENTRY.value)
    try:
        return Mode(raw)
    except ValueError as exc:
        raise Invalid("invalid_field", "'mode' is 'entry' or 'exit'", field="mode") from exc


def scan_request(body: dict[str, Any], *, require_time: bool = False) -> ScanRequest:
    timed = require_time or body.get("scanned_at") is not None
    scanned_at = timestamp(body, "scanned_at") if timed else datetime.now(UTC)
    return ScanRequest(
        code=field(body, "code", str),
        nonce=check_nonce(field(body, "nonce", str)),
        door=check_door(field(body, "door", str)),
        scanned_at=scanned_at,
        session_id=id_field(body, "session_id", None),
        room_id=id_field(body, "room_id", None),
        mode=scan_mode(body),
    )
