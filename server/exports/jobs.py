"""The export jobs table (migration 0024): queue a job, claim the next one (``FOR UPDATE
SKIP LOCKED``, so two processes never take the same), report progress (which renews the
lease), finish or fail it, and forget the expired ones.

A claimed job is ``running`` with a lease (``lease_until``) that its worker renews with each
progress report; a job whose lease ran out, its worker dead or stuck, is claimed again by
any process and produced again from the start. After ``MAX_ATTEMPTS`` claims it fails.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import timedelta
from enum import StrEnum
from typing import Any

import asyncpg

MAX_ATTEMPTS = 3
KEEP = timedelta(hours=24)
"""How long a job and its file are kept after it was queued."""


class Status(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class LeaseLost(Exception):
    """Another worker claimed the job: this one stops (its lease ran out)."""


_COLUMNS = (
    "id, kind, params, requested_by, status, done, total, attempts, file_name, size_bytes,"
    " error, created_at, started_at, finished_at, expires_at"
)

_CLAIM = f"""
UPDATE export_jobs SET status = 'running', worker = $1, attempts = attempts + 1,
       lease_until = now() + make_interval(secs => $2), started_at = now(), done = 0
 WHERE id = (SELECT id FROM export_jobs
              WHERE (status = 'queued' OR (status = 'running' AND lease_until < now()))
                AND attempts < {MAX_ATTEMPTS}
              ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
RETURNING {_COLUMNS}
"""

_GIVE_UP = f"""
UPDATE export_jobs SET status = 'failed', finished_at = now(), worker = NULL,
       error = 'the job was interrupted {MAX_ATTEMPTS} times'
 WHERE status = 'running' AND lease_until < now() AND attempts >= {MAX_ATTEMPTS}
"""


def job_json(row: Mapping[str, Any]) -> dict[str, Any]:
    out = {k: row[k] for k in _COLUMNS.replace(" ", "").split(",")}
    out["params"] = json.loads(row["params"]) if isinstance(row["params"], str) else row["params"]
    for key in ("created_at", "started_at", "finished_at", "expires_at"):
        if out[key] is not None:
            out[key] = out[key].isoformat()
    out["ready"] = row["status"] == Status.DONE
    return out


async def create(
    conn: asyncpg.Connection, kind: str, params: Mapping[str, Any], user_id: int
) -> asyncpg.Record:
    row: asyncpg.Record = await conn.fetchrow(
        "INSERT INTO export_jobs (kind, params, requested_by, expires_at)"
        f" VALUES ($1, $2::jsonb, $3, now() + $4::interval) RETURNING {_COLUMNS}",
        kind,
        json.dumps(params),
        user_id,
        KEEP,
    )
    return row


async def claim(conn: asyncpg.Connection, worker: str, lease_s: float) -> asyncpg.Record | None:
    """The oldest waiting job (queued, or running with its lease run out), now this
    worker's; ``None`` when there is none."""
    await conn.execute(_GIVE_UP)
    row: asyncpg.Record | None = await conn.fetchrow(_CLAIM, worker, float(lease_s))
    return row


async def progress(
    conn: asyncpg.Connection, job_id: int, worker: str, lease_s: float, done: int, total: int | None
) -> None:
    """Record how far the job is, and renew the lease (``LeaseLost`` if it is no longer
    this worker's)."""
    found = await conn.fetchval(
        "UPDATE export_jobs SET done = $3, total = coalesce($4, total),"
        " lease_until = now() + make_interval(secs => $5)"
        " WHERE id = $1 AND worker = $2 AND status = 'running' RETURNING id",
        job_id,
        worker,
        done,
        total,
        float(lease_s),
    )
    if found is None:
        raise LeaseLost(job_id)


async def finish(
    conn: asyncpg.Connection, job_id: int, worker: str, path: str, name: str, size: int
) -> bool:
    """The job is done with its file; ``False`` if it was no longer this worker's."""
    found = await conn.fetchval(
        "UPDATE export_jobs SET status = 'done', file_path = $3, file_name = $4,"
        " size_bytes = $5, finished_at = now(), lease_until = NULL, done = greatest(done,"
        " coalesce(total, done)) WHERE id = $1 AND worker = $2 AND status = 'running'"
        " RETURNING id",
        job_id,
        worker,
        path,
        name,
        size,
    )
    return found is not None


async def fail(conn: asyncpg.Connection, job_id: int, worker: str, error: str) -> None:
    await conn.execute(
        "UPDATE export_jobs SET status = 'failed', error = $3, finished_at = now(),"
        " lease_until = NULL WHERE id = $1 AND worker = $2 AND status = 'running'",
        job_id,
        worker,
        error[:500],
    )


async def get(conn: asyncpg.Connection, job_id: int) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        f"SELECT {_COLUMNS}, file_path FROM export_jobs WHERE id = $1", job_id
    )
    return row


async def of_user(
    conn: asyncpg.Connection, user_id: int | None, limit: int
) -> list[asyncpg.Record]:
    """The newest jobs of a requester (``None``: everyone's)."""
    rows: list[asyncpg.Record] = await conn.fetch(
        f"SELECT {_COLUMNS} FROM export_jobs WHERE ($1::bigint IS NULL OR requested_by = $1)"
        " ORDER BY id DESC LIMIT $2",
        user_id,
        limit,
    )
    return rows


async def expired(conn: asyncpg.Connection, limit: int = 100) -> list[asyncpg.Record]:
    """Remove the expired jobs; their files are the caller's to delete."""
    rows: list[asyncpg.Record] = await conn.fetch(
        "DELETE FROM export_jobs WHERE id IN (SELECT id FROM export_jobs"
        " WHERE expires_at < now() ORDER BY expires_at LIMIT $1) RETURNING id, file_path",
        limit,
    )
    return rows
