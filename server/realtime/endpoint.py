"""The WebSocket endpoint: decode client frames, check permissions, hand subscriptions to
the channel registry and other messages to the handlers the app registered.

A bad frame (undecodable, oversize, unknown type or channel) gets an ``error`` frame with a
stable code and the connection stays open. See ``docs/protocol.md``.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from starlette.types import Receive, Scope, Send

from server.identity.auth import ANONYMOUS, Principal, TokenSigner
from server.identity.credentials import session_cookie
from server.identity.permissions import Needs, any_of
from server.platform.errors import DomainError, NotFound, Unavailable
from server.realtime.channels import ChannelRegistry, SubscribeOptions
from server.realtime.protocol import (
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
    valid_ref,
)
from server.realtime.subscriber import Subscriber

log = logging.getLogger(__name__)

BUILT_IN = (ClientType.SUBSCRIBE, ClientType.UNSUBSCRIBE, ClientType.PING, ClientType.AUTH)
"""Message types the endpoint serves itself, to anyone (a channel's own rule applies when
subscribing); any other type needs a ``MessageHandler``."""


class MessageHandler:
    """A client message type served by another context (e.g. the door's ``scan``). A
    subclass declares, as class attributes next to its ``handle``, the ``type`` it serves
    and what it ``needs`` (a permission, a tuple of which any suffices, or ``None``: anyone);
    a subclass without both is refused when it is defined. The reply gets the request's
    ``id``; a domain error becomes an error frame."""

    type: ClassVar[ClientType]
    needs: ClassVar[Needs | None]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        missing = [name for name in ("type", "needs") if name not in cls.__dict__]
        if missing:
            raise TypeError(f"{cls.__name__} declares no {' and no '.join(missing)}")

    async def handle(self, principal: Principal, message: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError


def _since(message: dict[str, Any]) -> tuple[str, int] | None:
    since = message.get("since")
    if since is None:
        return None
    if (
        not isinstance(since, dict)
        or not isinstance(since.get("epoch"), str)
        or type(since.get("seq")) is not int
        or not 0 <= since["seq"] < 2**63
    ):
        raise ValueError
    return since["epoch"], since["seq"]


_OWN_FIELDS = frozenset({"type", "channel", "id", "since", "format"})


def _extra(message: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in message.items() if k not in _OWN_FIELDS}


class Connection:
    """One client connection: its codec, its principal and its subscriptions."""

    def __init__(self, endpoint: WebSocketEndpoint, sub: Subscriber) -> None:
        self.endpoint = endpoint
        self.registry = endpoint.registry
        self.sub = sub
        self.principal: Principal = ANONYMOUS
        self._expiry: asyncio.TimerHandle | None = None
        self.session_token: str | None = None  # a staff page's cookie, sent on the handshake

    def reply(self, message: dict[str, Any]) -> None:
        self.sub.send_message(message)

    async def handle(self, data: str | bytes) -> None:
        if len(data) > MAX_CLIENT_FRAME or (
            isinstance(data, str)
            and len(data) * 4 > MAX_CLIENT_FRAME
            and len(data.encode()) > MAX_CLIENT_FRAME
        ):
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
        if not valid_ref(ref):
            self.reply(
                error(
                    ErrorCode.BAD_MESSAGE, "'id' is a string of 64 characters or less or an integer"
                )
            )
            return
        kind = message.get("type")
        try:
            if kind == ClientType.SUBSCRIBE:
                await self._subscribe(message, ref)
            elif kind == ClientType.UNSUBSCRIBE:
                self._unsubscribe(message, ref)
            elif kind == ClientType.PING:
                self.reply(_with_ref({"type": ServerType.PONG.value}, ref))
            elif kind == ClientType.AUTH:
                self._auth(message, ref)
            elif isinstance(kind, str) and kind in self.endpoint.handlers:
                await self._handled(self.endpoint.handlers[kind], message, ref)
            else:
                self.reply(error(ErrorCode.UNKNOWN_TYPE, f"unknown message type {kind!r}", ref))
        except NotFound as exc:
            self.reply(error(ErrorCode.UNKNOWN_SESSION, exc.message, ref))
        except Unavailable as exc:
            self.reply(error(ErrorCode.UNAVAILABLE, exc.message, ref))
        except DomainError as exc:
            self.reply(error(ErrorCode.BAD_MESSAGE, exc.message, ref))

    def _allowed(self, needs: Needs | None) -> bool:
        return needs is None or self.principal.can(*any_of(needs))

    async def _handled(self, handler: MessageHandler, message: dict[str, Any], ref: Any) -> None:
        if handler.needs is not None and not self._allowed(handler.needs):
            needed = " or ".join(any_of(handler.needs))
            self.reply(error(ErrorCode.FORBIDDEN, f"{handler.type.value} needs: {needed}", ref))
            return
        self.reply(_with_ref(await handler.handle(self.principal, message), ref))

    def _channel(self, message: dict[str, Any], ref: Any) -> tuple[ChannelKind, int, str] | None:
        channel = message.get("channel")
        try:
            kind, ident = parse_channel(channel)
            if kind not in self.registry.feeds:
                raise ValueError(channel)
        except ValueError:
            self.reply(error(ErrorCode.UNKNOWN_CHANNEL, f"unknown channel {channel!r}", ref))
            return None
        return kind, ident, str(channel)

    async def _subscribe(self, message: dict[str, Any], ref: Any) -> None:
        parsed = self._channel(message, ref)
        if parsed is None:
            return
        kind, ident, channel = parsed
        if not self._allowed(self.registry.access(kind)):
            self.reply(error(ErrorCode.FORBIDDEN, "your role may not watch this channel", ref))
            return
        try:
            since = _since(message)
        except ValueError:
            self.reply(error(ErrorCode.BAD_MESSAGE, '\'since\' is {"epoch": str, "seq": int}', ref))
            return
        raw_format = message.get("format", SnapshotFormat.DIGITS.value)
        if not isinstance(raw_format, str) or raw_format not in set(SnapshotFormat):
            self.reply(error(ErrorCode.BAD_MESSAGE, "'format' is 'digits' or 'runs'", ref))
            return
        snapshot_format = SnapshotFormat(raw_format)
        if channel not in self.sub.channels and len(self.sub.channels) >= MAX_SUBSCRIPTIONS:
            self.reply(
                error(ErrorCode.TOO_MANY_SUBSCRIPTIONS, "unsubscribe from a channel first", ref)
            )
            return
        self.sub.channels.add(channel)
        if snapshot_format is SnapshotFormat.RUNS:
            self.sub.runs.add(channel)
        else:
            self.sub.runs.discard(channel)
        try:
            await self.registry.subscribe(
                self.sub, kind, ident, SubscribeOptions(since, snapshot_format, _extra(message))
            )
        except BaseException:
            self.sub.channels.discard(channel)
            self.sub.runs.discard(channel)
            raise

    def _unsubscribe(self, message: dict[str, Any], ref: Any) -> None:
        parsed = self._channel(message, ref)
        if parsed is None:
            return
        kind, ident, channel = parsed
        if channel not in self.sub.channels:
            self.reply(error(ErrorCode.NOT_SUBSCRIBED, f"not subscribed to {channel}", ref))
            return
        self.sub.channels.discard(channel)
        self.sub.runs.discard(channel)
        self.registry.unsubscribe(self.sub, kind, ident)
        self.reply({"type": ServerType.UNSUBSCRIBED.value, "channel": channel})

    def _auth(self, message: dict[str, Any], ref: Any) -> None:
        token = message.get("token", self.session_token)
        if "token" not in message and token is None:
            self.reply(error(ErrorCode.NO_SESSION, "no staff session: sign in first", ref))
            return
        if not isinstance(token, str):
            self.reply(error(ErrorCode.BAD_MESSAGE, "'token' is a string", ref))
            return
        try:
            self.principal = self.endpoint.signer.verify(token)
        except DomainError as exc:
            self.reply(error(ErrorCode.INVALID_TOKEN, exc.message, ref))
            return
        self._watch_expiry()
        if self.endpoint.on_auth is not None:
            self.endpoint.on_auth(self.principal)
        self.reply({"type": ServerType.AUTHENTICATED.value, "roles": sorted(self.principal.roles)})

    def _watch_expiry(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()
            self._expiry = None
        if self.principal.expires_at is not None:
            loop = asyncio.get_running_loop()
            delay = self.principal.expires_at - time.time()
            self._expiry = loop.call_at(loop.time() + max(delay, 0), self.expire)

    def expire(self, code: ErrorCode = ErrorCode.TOKEN_EXPIRED) -> None:
        """The token expired (or was revoked): the connection is anonymous again and leaves
        the channels its permissions opened; it is told so (and may send a fresh ``auth``)."""
        if self._expiry is not None:
            self._expiry.cancel()
        self._expiry = None
        self.principal = ANONYMOUS
        for channel in sorted(self.sub.channels):
            kind, ident = parse_channel(channel)
            if self.registry.access(kind) is not None:
                self.sub.channels.discard(channel)
                self.registry.unsubscribe(self.sub, kind, ident)
                self.reply({"type": ServerType.UNSUBSCRIBED.value, "channel": channel})
        message = "expired" if code is ErrorCode.TOKEN_EXPIRED else "was revoked"
        self.reply(error(code, f"the token {message}; send a new auth"))

    def close(self) -> None:
        if self._expiry is not None:
            self._expiry.cancel()


def _with_ref(frame: dict[str, Any], ref: Any) -> dict[str, Any]:
    if ref is not None:
        frame["id"] = ref
    return frame


class WebSocketEndpoint:
    """Serves ``/ws`` as raw ASGI (see ``server.app.Guichet``)."""

    def __init__(
        self,
        registry: ChannelRegistry,
        signer: TokenSigner,
        handlers: Iterable[MessageHandler],
        send_buffer_bytes: int,
    ) -> None:
        self.registry = registry
        self.signer = signer
        self.handlers = {h.type.value: h for h in handlers}
        self.send_buffer_bytes = send_buffer_bytes
        self.connections: set[Connection] = set()
        self.on_auth: Callable[[Principal], None] | None = None
        """Told of each successful ``auth`` (the app notes when devices were last seen)."""

    def revoked(self, principal_id: int | None, session_id: int | None = None) -> None:
        """A user's or device's tokens were revoked, or a staff session ended: the
        connections here that authenticated with them lose their roles."""
        for conn in list(self.connections):
            principal = conn.principal
            if (principal_id is not None and principal.user_id == principal_id) or (
                session_id is not None and principal.session_id == session_id
            ):
                conn.expire(ErrorCode.TOKEN_REVOKED)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        event = await receive()
        if event["type"] != "websocket.connect":
            return
        offered = scope.get("subprotocols") or []
        subprotocol = next(
            (p for p in offered if p in (SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON)), None
        )
        codec = MSGPACK if subprotocol == SUBPROTOCOL_MSGPACK else JSON
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if subprotocol:
            accept["subprotocol"] = subprotocol
        await send(accept)
        sub = Subscriber.for_send(send, codec, self.send_buffer_bytes, self.registry.lagging)
        conn = Connection(self, sub)
        conn.session_token = session_cookie(scope)
        self.connections.add(conn)
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
            self.connections.discard(conn)
            conn.close()
            self.registry.forget(sub)
            await sub.stop()
