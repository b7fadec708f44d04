"""The WebSocket ``scan`` message: the same scan as ``POST /api/scan``, answered by a
``scan_result`` frame carrying the request's ``id``. Needs a prior ``auth`` with a token
holding the ``entry_check`` role."""

from __future__ import annotations

from typing import Any

from server.auth import Principal
from server.door import DoorService
from server.errors import ApiError
from server.http_door import device_of, scan_request
from server.protocol import ErrorCode, ServerType, error
from server.roles import Role


async def scan(
    door: DoorService, principal: Principal, message: dict[str, Any], ref: Any
) -> dict[str, Any]:
    if not principal.has(Role.ENTRY_CHECK):
        return error(ErrorCode.FORBIDDEN, "scanning needs the entry_check role", ref)
    try:
        device = message.get("device")
        request = scan_request(message)
        result = await door.scan(
            device_of(principal, device if isinstance(device, str) else None), request
        )
    except ApiError as exc:
        if exc.status == 503:
            raise
        return error(ErrorCode.BAD_MESSAGE, exc.message, ref)
    frame: dict[str, Any] = {"type": ServerType.SCAN_RESULT.value, **result}
    if ref is not None:
        frame["id"] = ref
    return frame
