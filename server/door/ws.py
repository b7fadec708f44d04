"""The WebSocket ``scan`` message: the same scan as ``POST /api/scan``, answered by a
``scan_result`` frame carrying the request's ``id``. Needs a prior ``auth`` with a token
holding the ``entry_check`` role."""

from __future__ import annotations

from typing import Any

from server.door.requests import device_of, scan_request
from server.door.service import DoorService
from server.identity.auth import Principal
from server.identity.roles import Role
from server.realtime.endpoint import MessageHandler
from server.realtime.protocol import ClientType, ServerType


def scan_handler(door: DoorService) -> MessageHandler:
    async def scan(principal: Principal, message: dict[str, Any]) -> dict[str, Any]:
        device = message.get("device")
        request = scan_request(message)
        result = await door.scan(
            device_of(principal, device if isinstance(device, str) else None), request
        )
        return {"type": ServerType.SCAN_RESULT.value, **result}

    return MessageHandler(ClientType.SCAN, (Role.ENTRY_CHECK,), scan)
