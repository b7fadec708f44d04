"""Export jobs as a client follows them: queue, poll until done, download."""

from __future__ import annotations

import asyncio
import re
import time
import zlib
from typing import Any

from tests.support import Api


async def wait_done(api: Api, job_id: int, within: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + within
    while True:
        r = await api.http.get(f"/api/exports/{job_id}")
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        if job["status"] in ("done", "failed"):
            return job
        assert time.monotonic() < deadline, job
        await asyncio.sleep(0.2)


async def download(api: Api, job_id: int) -> bytes:
    r = await api.http.get(f"/api/exports/{job_id}/file")
    assert r.status_code == 200, r.text
    return r.content


def pdf_text(pdf: bytes) -> bytes:
    """Raw PDF bytes plus every inflated stream, to search for drawn text."""
    chunks = [pdf]
    for match in re.finditer(rb"stream\r?\n(.*?)\nendstream", pdf, re.S):
        try:
            chunks.append(zlib.decompressobj().decompress(match.group(1)))
        except zlib.error:
            chunks.append(match.group(1))
    return b"\n".join(chunks)


def pages(pdf: bytes) -> int:
    return len(re.findall(rb"/Type\s*/Page\b", pdf))
