"""Postgres: the connection pool and the forward-only migrations of
``server/platform/migrations``."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources

import asyncpg

from server.platform.errors import Unavailable

log = logging.getLogger(__name__)

MIGRATIONS_LOCK = 7_482_001  # advisory lock id: one migrator at a time


async def _keep_session(conn: asyncpg.Connection) -> None:
    """Pool release hook: Guichet never changes session state (no SET, LISTEN or session
    advisory lock outlives its call), so the reset round trip on every release is skipped.
    An open transaction is still rolled back by asyncpg before this runs."""


async def create_pool(dsn: str, size: int) -> asyncpg.Pool:
    return await asyncpg.create_pool(
        dsn,
        min_size=1,
        max_size=size,
        command_timeout=10,
        max_inactive_connection_lifetime=60,
        reset=_keep_session,
    )


def migration_files() -> list[tuple[int, str, str]]:
    """(version, name, sql) of every migration, in order."""
    found = []
    for entry in resources.files("server.platform.migrations").iterdir():
        if entry.name.endswith(".sql"):
            version = int(entry.name.split("_", 1)[0])
            found.append((version, entry.name, entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(conn: asyncpg.Connection) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied.

    The lock is taken first: processes starting together on an empty database would
    otherwise race to create the migrations table itself."""
    applied: list[str] = []
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATIONS_LOCK)
    try:
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migration_files():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
            log.info("applied migration %s", name)
            applied.append(name)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATIONS_LOCK)
    return applied


DB_DOWN = (
    OSError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.InternalClientError,  # e.g. a connection cut during a shutdown
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    TimeoutError,
)


@asynccontextmanager
async def connection(pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection; Postgres being unreachable becomes a 503 ``database_unavailable``."""
    try:
        async with pool.acquire(timeout=5) as conn:
            yield conn
    except DB_DOWN as exc:
        log.warning("postgres unavailable: %s", type(exc).__name__)
        raise Unavailable("database_unavailable", "the database is unavailable; retry") from exc
