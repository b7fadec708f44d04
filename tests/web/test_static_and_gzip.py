"""Compressed answers and cached static files (server/web/static.py): gzip for pages, JSON
and streamed CSV (each chunk flushed as it comes), never for the WebSocket; static files with
an ETag, ``Cache-Control: no-cache`` and 304 answers."""

from __future__ import annotations

import json
import zlib

import websockets

from tests.support import Api, ServerProcess

GZIP = {"Accept-Encoding": "gzip"}


async def test_static_files_are_compressed_and_revalidated_by_etag(buyer: Api) -> None:
    r = await buyer.http.get("/seatmap.js", headers=GZIP)
    assert r.status_code == 200
    assert r.headers["content-encoding"] == "gzip"
    assert "accept-encoding" in r.headers["vary"].lower()
    assert r.headers["cache-control"] == "no-cache"
    assert "export class SeatMap" in r.text  # httpx decodes it
    etag = r.headers["etag"]

    again = await buyer.http.get("/seatmap.js", headers={**GZIP, "If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert again.headers["cache-control"] == "no-cache"

    page = await buyer.http.get("/", headers=GZIP)  # index.html
    assert page.headers["content-encoding"] == "gzip"
    assert page.headers["cache-control"] == "no-cache"
    worker = await buyer.http.get("/sw.js")
    assert worker.status_code == 200 and worker.headers["cache-control"] == "no-cache"


async def test_json_answers_are_compressed_and_small_ones_are_not(admin: Api, buyer: Api) -> None:
    s = await admin.create_session(n_seats=300, per_row=20)
    r = await buyer.http.get(f"/api/sessions/{s.id}/seat-map", headers=GZIP)
    assert r.status_code == 200 and r.headers["content-encoding"] == "gzip"
    assert len(r.json()["seats"]) == 300
    small = await buyer.http.get("/healthz", headers=GZIP)
    assert "content-encoding" not in small.headers


async def test_a_streamed_csv_export_stays_streamed_when_compressed(admin: Api) -> None:
    async with admin.http.stream("GET", "/api/audit.csv", headers=GZIP) as r:
        assert r.status_code == 200
        assert r.headers["content-encoding"] == "gzip"
        assert "content-length" not in r.headers  # sent in chunks, not buffered whole
        inflate = zlib.decompressobj(16 + zlib.MAX_WBITS)
        chunks = [chunk async for chunk in r.aiter_raw()]
    first = inflate.decompress(chunks[0])
    assert first.startswith("\ufeffid,".encode()), first[:40]  # the header, flushed at once
    rest = b"".join(inflate.decompress(c) for c in chunks[1:]) + inflate.flush()
    text = (first + rest).decode()
    assert text.count("\n") > 1


async def test_the_websocket_is_untouched_by_compression(server: ServerProcess) -> None:
    async with websockets.connect(
        server.ws_url,
        subprotocols=["guichet.json"],  # type: ignore[list-item]
        additional_headers=GZIP,
    ) as ws:
        await ws.send(json.dumps({"type": "ping"}))
        reply = json.loads(await ws.recv())
        assert reply["type"] == "pong"
