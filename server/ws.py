"""The WebSocket endpoint: decode client frames, check roles, talk to the hub.

A bad frame (undecodable, oversize, unknown type or channel) gets an ``error`` frame with
a stable code and the connection stays open. See ``docs/protocol.md``.
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.types import Receive, Scope, Send

from server import ws_door
from server.auth import ANONYMOUS, Principal, TokenSigner
from server.catalog import Catalog
from server.errors import ApiError
from server.hub import Hub
from server.protocol import (
    JSON,
    MAX_CLIENT_FRAME,
    MAX_SUBSCRIPTIONS,
    MSGPACK,
    SUBPROTOCOL_JSON,
    SUBPROTOCOL_MSGPACK,
    ChannelKind,
    ClientType,
    ErrorCode,
    ServerType,
    SnapshotFormat,
    error,
    parse_channel,
)
from server.roles import Role
from server.subscriber import Subscriber

log = logging.getLogger(__name__)

# Which roles may subscribe to which channel kind; None means anyone (the public e-shop).
CHANNEL_ROLES: dict[ChannelKind, tuple[Role, ...] | None] = {
    ChannelKind.SEATS: None,
    ChannelKind.GAUGE: None,
    ChannelKind.DOOR: (Role.ENTRY_CHECK, Role.STATS),
}


class Connection:
    """One client connection: its codec, its principal and its subscriptions."""

    def __init__(self, hub: Hub, catalog: Catalog, signer: TokenSigner, sub: Subscriber) -> None:
        self.hub = hub
        self.catalog = catalog
        self.signer = signer
        self.sub = sub
        self.principal: Principal = ANONYMOUS
        self.door: Any = None  # the door service (server.door.DoorService)
        self.door_feeds: Any = None  # server.door_feed.DoorFeeds

    def reply(self, message: dict[str, Any]) -> None:
        self.sub.send_message(message)

    async def handle(self, data: str | bytes) -> None:
        if len(data) > MAX_CLIENT_FRAME:
            self.reply(
                error(ErrorCode.FRAME_TOO_LARGE, f"frames are limited to {MAX_CLIENT_FRAME} bytes")
            )
            return
        try:
            message = self.sub.codec.decode(data)
        except Exception:
            self.reply(error(ErrorCode.BAD_FRAME, "the frame could not be decoded"))
            return
        if not isinstance(message, dict):
            self.reply(error(ErrorCode.BAD_MESSAGE, "a message is an object with a 'type'"))
            return
        ref = message.get("id")
        kind = message.get("type")
        try:
            if kind == ClientType.SUBSCRIBE:
                await self._subscribe(message, ref)
            elif kind == ClientType.UNSUBSCRIBE:
                await self._unsubscribe(message, ref)
            elif kind == ClientType.PING:
                self.reply(
                    {"type": ServerType.PONG.value, "id": ref}
                    if ref is not None
                    else {"type": ServerType.PONG.value}
                )
            elif kind == ClientType.AUTH:
                self._auth(message, ref)
            elif kind == ClientType.SCAN:  # door control, see server/ws_door.py
                self.reply(await ws_door.scan(self.door, self.principal, message, ref))
            else:
                self.reply(error(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}", ref))
        except ApiError as exc:
            code = ErrorCode.UNAVAILABLE if exc.status == 503 else ErrorCode.BAD_MESSAGE
            self.reply(error(code, exc.message, ref))

    def _channel(self, message: dict[str, Any], ref: Any) -> tuple[ChannelKind, int, str] | None:
        channel = message.get("channel")
        try:
            kind, ident = parse_channel(channel)
        except ValueError:
            self.reply(error(ErrorCode.UNKNOWN_CHANNEL, f"unknown channel {channel!r}", ref))
            return None
        return kind, ident, str(channel)

    async def _subscribe(self, message: dict[str, Any], ref: Any) -> None:
        parsed = self._channel(message, ref)
        if parsed is None:
            return
        kind, session_id, channel = parsed
        roles = CHANNEL_ROLES[kind]
        if roles is not None and not self.principal.has(*roles):
            self.reply(error(ErrorCode.FORBIDDEN, "your role may not watch this channel", ref))
            return
        since = message.get("since")
        position: tuple[str, int] | None = None
        if since is not None:
            if (
                not isinstance(since, dict)
                or not isinstance(since.get("epoch"), str)
                or not isinstance(since.get("seq"), int)
            ):
                self.reply(
                    error(ErrorCode.BAD_MESSAGE, '\'since\' is {"epoch": str, "seq": int}', ref)
                )
                return
            position = (since["epoch"], since["seq"])
        snapshot_format = message.get("format", SnapshotFormat.DIGITS.value)
        if snapshot_format not in {f.value for f in SnapshotFormat}:
            self.reply(error(ErrorCode.BAD_MESSAGE, "'format' is 'digits' or 'runs'", ref))
            return
        if channel not in self.sub.channels and len(self.sub.channels) >= MAX_SUBSCRIPTIONS:
            self.reply(
                error(ErrorCode.TOO_MANY_SUBSCRIPTIONS, "unsubscribe from a channel first", ref)
            )
            return
        try:
            await self.catalog.session(session_id)
        except ApiError as exc:
            if exc.status == 404:
                self.reply(error(ErrorCode.UNKNOWN_SESSION, f"no session {session_id}", ref))
                return
            raise
        self.sub.channels.add(channel)
        if snapshot_format == SnapshotFormat.RUNS:
            self.sub.runs.add(channel)
        else:
            self.sub.runs.discard(channel)
        if kind is ChannelKind.DOOR:
            await self.door_feeds.subscribe(self.sub, session_id)
        else:
            await self.hub.subscribe(self.sub, kind, session_id, position)

    async def _unsubscribe(self, message: dict[str, Any], ref: Any) -> None:
        parsed = self._channel(message, ref)
        if parsed is None:
            return
        kind, session_id, channel = parsed
        if channel not in self.sub.channels:
            self.reply(error(ErrorCode.NOT_SUBSCRIBED, f"not subscribed to {channel}", ref))
            return
        self.sub.channels.discard(channel)
        self.sub.runs.discard(channel)
        if kind is ChannelKind.DOOR:
            self.door_feeds.unsubscribe(self.sub, session_id)
        else:
            await self.hub.unsubscribe(self.sub, kind, session_id)
        self.reply({"type": ServerType.UNSUBSCRIBED.value, "channel": channel})

    def _auth(self, message: dict[str, Any], ref: Any) -> None:
        token = message.get("token")
        if not isinstance(token, str):
            self.reply(error(ErrorCode.BAD_MESSAGE, "'token' is a string", ref))
            return
        try:
            self.principal = self.signer.verify(token)
        except ApiError as exc:
            self.reply(error(ErrorCode.INVALID_TOKEN, exc.message, ref))
            return
        self.reply({"type": ServerType.AUTHENTICATED.value, "roles": sorted(self.principal.roles)})


async def serve_connection(scope: Scope, receive: Receive, send: Send) -> None:
    """Serve one WebSocket connection (raw ASGI, see ``server.app.Guichet``)."""
    app_state = scope["app"].state
    event = await receive()
    if event["type"] != "websocket.connect":
        return
    offered = scope.get("subprotocols") or []
    subprotocol = next((p for p in offered if p in (SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON)), None)
    codec = MSGPACK if subprotocol == SUBPROTOCOL_MSGPACK else JSON
    accept: dict[str, Any] = {"type": "websocket.accept"}
    if subprotocol:
        accept["subprotocol"] = subprotocol
    await send(accept)
    sub = Subscriber.for_send(
        send, codec, app_state.settings.send_buffer_bytes, app_state.hub.lagging
    )
    conn = Connection(app_state.hub, app_state.catalog, app_state.signer, sub)
    conn.door = app_state.door
    conn.door_feeds = app_state.door_feeds
    try:
        while True:
            event = await receive()
            if event["type"] == "websocket.disconnect":
                break
            data = event.get("text")
            if data is None:
                data = event.get("bytes") or b""
            await conn.handle(data)
    finally:
        app_state.hub.forget(sub)
        app_state.door_feeds.forget(sub)
        await sub.stop()
