"""The export worker of a server process: claim a job, produce its file under the export
directory while reporting progress (which renews the lease), then mark it done; and remove
expired jobs with their files.

Every process runs one (``every(POLL_S, worker.step)``); a job is one process's at a time.
A producer that finds its lease gone (another process took the job over after this one
stalled) stops and deletes its partial file. A job that fails for a reason of its own (its
session deleted…) is ``failed`` with the error; Postgres going away mid-job leaves it
``running`` until its lease runs out, and another round takes it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from server.exports import jobs
from server.platform.db import connection
from server.platform.errors import DomainError
from server.platform.failpoints import failpoint

log = logging.getLogger(__name__)
POLL_S = 1.0


class Progress:
    """How far a job is: producers add what they wrote; a heartbeat task writes it to the
    job's row at least every third of the lease (and so renews the lease)."""

    def __init__(self) -> None:
        self.done = 0
        self.total: int | None = None
        self.lost = False

    async def add(self, n: int) -> None:
        if self.lost:
            raise jobs.LeaseLost()
        self.done += n
        await failpoint("exports.progress")


@dataclass(frozen=True, slots=True)
class Output:
    """Where a producer writes, and what the download is called."""

    path: Path
    name: str


Producer = Callable[[Mapping[str, Any], Output, Progress], Awaitable[None]]
"""Writes the job's file at ``Output.path``; raises ``DomainError`` for a job it cannot do."""


class ExportWorker:
    def __init__(
        self,
        pool: asyncpg.Pool,
        directory: Path,
        producers: Mapping[str, tuple[Producer, Callable[[Mapping[str, Any]], str]]],
        lease_s: float,
    ) -> None:
        """``producers``: per job kind, its producer and the file name of its params."""
        self.pool = pool
        self.directory = directory
        self.producers = producers
        self.lease_s = lease_s
        self.name = f"{os.uname().nodename}:{os.getpid()}:{uuid.uuid4().hex[:8]}"

    async def step(self) -> None:
        """Remove the expired jobs, then run the next waiting job, if any."""
        await self.clean()
        async with connection(self.pool) as conn:
            job = await jobs.claim(conn, self.name, self.lease_s)
        if job is not None:
            await self.run(job)

    async def run(self, job: asyncpg.Record) -> None:
        produce, name_of = self.producers[job["kind"]]
        params = jobs.job_json(job)["params"]
        await asyncio.to_thread(self.directory.mkdir, parents=True, exist_ok=True)
        out = Output(self.directory / f"{job['id']}-{uuid.uuid4().hex}.part", name_of(params))
        progress = Progress()
        beat = asyncio.create_task(self._heartbeat(job["id"], progress))
        try:
            await produce(params, out, progress)
        except (jobs.LeaseLost, asyncio.CancelledError):
            await _remove(out.path)
            raise
        except DomainError as exc:
            await _remove(out.path)
            await self._fail(job["id"], exc.message)
            return
        except Exception as exc:
            log.exception("export job %s failed", job["id"])
            await _remove(out.path)
            await self._fail(job["id"], type(exc).__name__)
            return
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError, jobs.LeaseLost):
                await beat
        await self._finish(job["id"], out, progress)

    async def _finish(self, job_id: int, out: Output, progress: Progress) -> None:
        final = out.path.with_suffix("")
        await asyncio.to_thread(os.replace, out.path, final)
        size = (await asyncio.to_thread(final.stat)).st_size
        async with connection(self.pool) as conn:
            await jobs.progress(
                conn, job_id, self.name, self.lease_s, progress.done, progress.total
            )
            if not await jobs.finish(conn, job_id, self.name, str(final), out.name, size):
                await _remove(final)

    async def _fail(self, job_id: int, error: str) -> None:
        async with connection(self.pool) as conn:
            await jobs.fail(conn, job_id, self.name, error)

    async def _heartbeat(self, job_id: int, progress: Progress) -> None:
        while True:
            try:
                async with connection(self.pool) as conn:
                    await jobs.progress(
                        conn, job_id, self.name, self.lease_s, progress.done, progress.total
                    )
            except jobs.LeaseLost:
                progress.lost = True
                return
            except DomainError:
                pass  # Postgres away for a moment: the next beat tries again
            await asyncio.sleep(min(self.lease_s / 3, 1.0))

    async def clean(self) -> None:
        async with connection(self.pool) as conn:
            gone = await jobs.expired(conn)
        for row in gone:
            if row["file_path"]:
                await _remove(Path(row["file_path"]))


async def _remove(path: Path) -> None:
    await asyncio.to_thread(path.unlink, missing_ok=True)
