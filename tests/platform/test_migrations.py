"""Migrations: processes that start together on an empty database all come up."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from server.platform.db import migrate, migration_files


def database_url(name: str) -> str:
    return urlunsplit(urlsplit(os.environ["DATABASE_URL"])._replace(path="/" + name))


@asynccontextmanager
async def database_before(version: int) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own, migrated up to the state before migration ``version`` (to
    fill with rows, then :func:`migrate` the rest); dropped afterwards."""
    name = "guichet_before_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(database_url("postgres"))
    await admin.execute(f"CREATE DATABASE {name}")
    conn = await asyncpg.connect(database_url(name))
    try:
        await conn.execute(
            "CREATE TABLE schema_migrations (version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for number, file, sql in migration_files():
            if number < version:
                await conn.execute(sql)
                await conn.execute("INSERT INTO schema_migrations VALUES ($1, $2)", number, file)
        yield conn
    finally:
        await conn.close()
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()


async def test_processes_starting_together_on_an_empty_database_all_migrate(
    services: None,
) -> None:
    name = "guichet_migrate_" + uuid.uuid4().hex[:8]
    admin = await asyncpg.connect(database_url("postgres"))
    await admin.execute(f"CREATE DATABASE {name}")
    try:
        conns = [await asyncpg.connect(database_url(name)) for _ in range(4)]
        try:
            results = await asyncio.gather(*(migrate(c) for c in conns), return_exceptions=True)
            versions = await conns[0].fetch("SELECT version FROM schema_migrations")
        finally:
            for c in conns:
                await c.close()
    finally:
        await admin.execute(f"DROP DATABASE {name} WITH (FORCE)")
        await admin.close()
    assert [r for r in results if isinstance(r, BaseException)] == []
    applied = [name for r in results if isinstance(r, list) for name in r]
    assert sorted(applied) == [n for _, n, _ in migration_files()]  # each applied once
    assert sorted(r["version"] for r in versions) == [v for v, _, _ in migration_files()]
