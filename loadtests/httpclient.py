"""A minimal HTTP/1.1 keep-alive client on a raw asyncio protocol.

Far cheaper per request than httpx, so that a few load-generator processes can drive
thousands of requests per second. Only what the bench needs: one request in flight per
connection, ``Content-Length`` bodies (no chunked responses), JSON in and out.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any


class HttpError(Exception):
    pass


class HttpConnection(asyncio.Protocol):
    """One keep-alive connection; ``request`` is awaited before the next one is sent."""

    def __init__(self, host: str, headers: dict[str, str] | None = None) -> None:
        extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
        self._head = f"Host: {host}\r\n{extra}".encode()
        self._buf = bytearray()
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.transport: asyncio.Transport | None = None
        self.closed = False

    @classmethod
    async def open(
        cls, host: str, port: int, headers: dict[str, str] | None = None
    ) -> HttpConnection:
        loop = asyncio.get_running_loop()
        _, proto = await loop.create_connection(lambda: cls(f"{host}:{port}", headers), host, port)
        return proto

    # -- protocol --------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(HttpError(f"connection lost: {exc!r}"))

    def data_received(self, data: bytes) -> None:
        self._buf += data
        waiter = self._waiter
        if waiter is None:
            return
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buf[:end]).lower()
        i = head.find(b"content-length:")
        if i < 0:
            if not waiter.done():
                waiter.set_exception(HttpError("response without content-length"))
            return
        j = head.find(b"\r\n", i)
        length = int(head[i + 15 : j if j >= 0 else len(head)])
        total = end + 4 + length
        if len(buf) < total:
            return
        status = int(head[9:12])
        body = bytes(buf[end + 4 : total])
        del buf[:total]
        self._waiter = None
        if not waiter.done():
            waiter.set_result((status, body))

    # -- requests --------------------------------------------------------------------------

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        if self.closed or self.transport is None:
            raise HttpError("connection closed")
        waiter = asyncio.get_running_loop().create_future()
        self._waiter = waiter
        self.transport.write(
            b"%s %s HTTP/1.1\r\n%sContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (method.encode(), path.encode(), self._head, len(body), body)
        )
        return await waiter

    async def post_json(self, path: str, doc: Any) -> tuple[int, Any]:
        status, body = await self.request("POST", path, json.dumps(doc).encode())
        return status, json.loads(body) if body else None

    async def get_json(self, path: str) -> tuple[int, Any]:
        status, body = await self.request("GET", path)
        return status, json.loads(body) if body else None

    def close(self) -> None:
        if self.transport is not None:
            self.transport.close()
