"""The JSON shapes of export jobs."""

from __future__ import annotations

from typing import Any, Literal

import msgspec

from server.web.api import Id, Reply


class TicketsIn(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    session_id: Id
    format: Literal["pdf", "zip"] = "zip"
    """`pdf`: one document, a page a ticket (at most 2,000); `zip`: a PDF a ticket."""
    entry: Literal["all", "not_entered"] = "all"
    """`not_entered`: only the tickets no door has let in yet."""


class Job(Reply):
    id: int
    kind: Literal["statement", "tickets"]
    params: dict[str, Any]
    requested_by: int
    status: Literal["queued", "running", "done", "failed"]
    done: int
    """Lines (or tickets) written so far."""
    total: int | None
    """Lines (or tickets) in all, once known; `null` when the statement cannot tell."""
    attempts: int
    """How many times a worker took the job (more than one: a worker died on it)."""
    file_name: str | None
    size_bytes: int | None
    error: str | None
    created_at: str
    started_at: str | None
    finished_at: str | None
    expires_at: str
    """When the job and its file are removed."""
    ready: bool
    """Done: `GET /api/exports/{id}/file` downloads it."""


class Jobs(Reply):
    jobs: list[Job]
