"""One WebSocket client as the hubs see it: pre-encoded frames, a sink, a bounded backlog.

Fan-out writes the same bytes to thousands of clients, so a frame is encoded once per
encoding (``OutFrame``), and when the server is uvicorn with its ``websockets-sansio``
implementation its WebSocket wire form is built once too and written straight to each
client's transport (``TransportSink``): no coroutine, no task and no per-client framing on
the broadcast path. Any other ASGI server gets ``AsgiSink`` (a writer task per client).

Each client has a bounded backlog (bytes not yet taken by its socket). A client past it is
*lagging*: frames for it are dropped, and once its backlog drains it is told to ``resync``
(and catches up from the session log) instead of the server buffering without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import struct
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from server.realtime.protocol import Codec, ResyncReason, ServerType

log = logging.getLogger(__name__)

Send = Callable[[dict[str, Any]], Awaitable[None]]
OP_TEXT, OP_BINARY = 0x1, 0x2


def ws_frame(payload: bytes, binary: bool) -> bytes:
    """The unmasked (server-to-client) WebSocket frame of one complete message."""
    first = 0x80 | (OP_BINARY if binary else OP_TEXT)
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", first, n)
    elif n < 65536:
        header = struct.pack("!BBH", first, 126, n)
    else:
        header = struct.pack("!BBQ", first, 127, n)
    return header + payload


class OutFrame:
    """One encoded message; its wire form is built on first use and shared."""

    __slots__ = ("_wire", "binary", "payload")

    def __init__(self, payload: str | bytes, binary: bool) -> None:
        self.payload = payload
        self.binary = binary
        self._wire: bytes | None = None

    @classmethod
    def of(cls, codec: Codec, message: dict[str, Any]) -> OutFrame:
        return cls(codec.encode(message), codec.binary)

    @property
    def size(self) -> int:
        return len(self.payload)

    def wire(self) -> bytes:
        if self._wire is None:
            data = self.payload if isinstance(self.payload, bytes) else self.payload.encode()
            self._wire = ws_frame(data, self.binary)
        return self._wire


class Encoded:
    """A message encoded lazily, at most once per codec, for any number of clients."""

    __slots__ = ("_frames", "message")

    def __init__(self, message: dict[str, Any]) -> None:
        self.message = message
        self._frames: dict[bool, OutFrame] = {}

    def frame(self, codec: Codec) -> OutFrame:
        frame = self._frames.get(codec.binary)
        if frame is None:
            frame = self._frames[codec.binary] = OutFrame(codec.encode(self.message), codec.binary)
        return frame


class Sink(Protocol):
    def write(self, frame: OutFrame) -> None: ...
    def backlog(self) -> int: ...
    def closed(self) -> bool: ...
    async def aclose(self) -> None: ...


class TransportSink:
    """Writes wire frames straight to uvicorn's transport (websockets-sansio protocol).

    Safe because everything runs on one event loop: each ``transport.write`` appends a whole
    frame, so frames never interleave with the protocol's own pings or close frame."""

    __slots__ = ("_protocol", "_transport")

    def __init__(self, protocol: Any) -> None:
        self._protocol = protocol
        self._transport = protocol.transport

    @staticmethod
    def of(send: Send) -> TransportSink | None:
        protocol = getattr(send, "__self__", None)
        if type(protocol).__name__ != "WebSocketsSansIOProtocol":
            return None
        if not all(hasattr(protocol, a) for a in ("transport", "close_sent", "conn")):
            return None
        return TransportSink(protocol)

    def write(self, frame: OutFrame) -> None:
        self._transport.write(frame.wire())

    def backlog(self) -> int:
        return int(self._transport.get_write_buffer_size())

    def closed(self) -> bool:
        return bool(self._protocol.close_sent or self._transport.is_closing())

    async def aclose(self) -> None:
        return None


class AsgiSink:
    """Any ASGI server: a writer task per client sends queued frames in order."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._queue: deque[OutFrame] = deque()
        self._queued_bytes = 0
        self._wake = asyncio.Event()
        self._closed = False
        self._task = asyncio.create_task(self._writer())

    def write(self, frame: OutFrame) -> None:
        self._queue.append(frame)
        self._queued_bytes += frame.size
        self._wake.set()

    def backlog(self) -> int:
        return self._queued_bytes

    def closed(self) -> bool:
        return self._closed

    async def aclose(self) -> None:
        self._closed = True
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await self._task

    async def _writer(self) -> None:
        try:
            while True:
                await self._wake.wait()
                self._wake.clear()
                while self._queue:
                    frame = self._queue.popleft()
                    self._queued_bytes -= frame.size
                    key = "bytes" if frame.binary else "text"
                    await self._send({"type": "websocket.send", key: frame.payload})
        except asyncio.CancelledError:
            raise
        except Exception:  # the client went away; the reader side cleans up
            self._closed = True


MAX_HELD = 1024  # frames held back per channel while its first frame is prepared


def _resync(channel: str, reason: ResyncReason) -> dict[str, Any]:
    return {"type": ServerType.RESYNC.value, "channel": channel, "reason": reason.value}


class Subscriber:
    """A client connection: its codec, its channels, and frames held back per channel while
    the channel's first frame (snapshot or catch-up) is being prepared."""

    __slots__ = (
        "_holding",
        "_overflowed",
        "channels",
        "codec",
        "lagging",
        "max_backlog",
        "on_lag",
        "runs",
        "sink",
    )

    def __init__(
        self,
        sink: Sink,
        codec: Codec,
        max_backlog: int,
        on_lag: Callable[[Subscriber], None] = lambda _: None,
    ) -> None:
        self.sink = sink
        self.codec = codec
        self.max_backlog = max_backlog
        self.on_lag = on_lag
        self.lagging = False
        self.channels: set[str] = set()
        self.runs: set[str] = set()  # seat channels whose snapshots it wants as runs
        self._holding: dict[str, list[OutFrame]] = {}
        self._overflowed: set[str] = set()  # channels whose held-back frames did not all fit

    @classmethod
    def for_send(
        cls,
        send: Send,
        codec: Codec,
        max_backlog: int,
        on_lag: Callable[[Subscriber], None] = lambda _: None,
    ) -> Subscriber:
        sink: Sink | None = TransportSink.of(send)
        return cls(sink or AsgiSink(send), codec, max_backlog, on_lag)

    def push(self, frame: OutFrame, channel: str | None = None) -> None:
        """Send a frame now; frames of a channel awaiting its first frame are held back."""
        if channel is not None and channel in self._holding:
            held = self._holding[channel]
            if len(held) < MAX_HELD:
                held.append(frame)
            else:
                self._overflowed.add(channel)
            return
        if self.lagging or self.sink.closed():
            return
        if self.sink.backlog() > self.max_backlog:
            self.lagging = True
            log.info("slow subscriber: dropping frames until it drains, then resync")
            self.on_lag(self)
            return
        self.sink.write(frame)

    def send_message(self, message: dict[str, Any]) -> None:
        self.push(OutFrame.of(self.codec, message))

    def hold_back(self, channel: str) -> None:
        self._holding.setdefault(channel, [])

    def release(self, channel: str, first: OutFrame | None) -> None:
        """Send ``first`` (the snapshot or catch-up) then what was held back meanwhile."""
        held = self._holding.pop(channel, [])
        if first is not None:
            self.push(first)
        if channel in self._overflowed:  # frames were dropped: catch up from the log
            self._overflowed.discard(channel)
            self.send_message(_resync(channel, ResyncReason.SLOW_CONSUMER))
            return
        for frame in held:
            self.push(frame)

    def drained(self) -> bool:
        """For a lagging client: once its backlog is low, tell it to resync. Returns True
        when it is no longer lagging."""
        if not self.lagging:
            return True
        if self.sink.closed():
            return True
        if self.sink.backlog() > self.max_backlog // 4:
            return False
        self.lagging = False
        for channel in sorted(self.channels):
            self.send_message(_resync(channel, ResyncReason.SLOW_CONSUMER))
        return True

    async def stop(self) -> None:
        await self.sink.aclose()
