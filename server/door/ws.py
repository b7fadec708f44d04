"""The WebSocket ``scan`` message: the same scan as ``POST /api/scan``, answered by a
``scan_result`` frame carrying the request's ``id``. Needs a prior ``auth`` with a token
holding the ``door.scan`` permission (role ``entry_check``)."""

from __future__ import annotations

from typing import Any

from server.door.requests import device_of, scan_request
from server.door.service import DoorService
from server.identity.auth import Principal
from server.identity.permissions import Permission
from server.realtime.endpoint import MessageHandler
from server.realtime.protocol import ClientType, ServerType


class ScanHandler(MessageHandler):
    type = ClientType.SCAN
    needs = Permission.DOOR_SCAN

    def __init__(self, door: DoorService) -> None:
        self.door = door

    async def handle(self, principal: Principal, message: dict[str, Any]) -> dict[str, Any]:
        device = message.get("device")
        request = scan_request(message)
        result = await self.door.scan(
            device_of(principal, device if isinstance(device, str) else None), request
        )
        return {"type": ServerType.SCAN_RESULT.value, **result}
