"""Export jobs as a client follows them: queue, poll until done, download."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from tests.pdf import pages, pdf_text
from tests.support import Api

__all__ = ["download", "pages", "pdf_text", "wait_done"]


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
