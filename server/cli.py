"""Command line: ``python -m server.cli {migrate,demo,serve,create-user}``."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import uvicorn

from server.demo import demo_ticket_codes, load_demo, reset_demo_admin
from server.identity.auth import create_user
from server.platform.config import Settings
from server.platform.db import migrate


async def _with_pool(fn: Callable[..., Awaitable[Any]], *args: Any) -> Any:
    settings = Settings.from_env()
    pool = await asyncpg.create_pool(settings.database_url, min_size=1, max_size=4)
    try:
        return await fn(pool, *args)
    finally:
        await pool.close()


async def _migrate(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        applied = await migrate(conn)
    print(f"migrations applied: {', '.join(applied) if applied else 'none pending'}")


async def _demo(pool: asyncpg.Pool) -> None:
    loaded = await load_demo(pool)
    user, password = await reset_demo_admin(pool)
    print("demo festival loaded" if loaded else "demo festival already present")
    print(f"demo admin: username {user!r}, password {password!r}")
    codes = await demo_ticket_codes(pool)
    if codes:
        print("demo tickets to scan at /scanner.html (type or paste a code, then Enter):")
        for ticket_id, code in codes:
            print(f"  ticket {ticket_id}: {code}")


def main() -> None:
    parser = argparse.ArgumentParser(prog="guichet")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply pending database migrations")
    sub.add_parser("demo", help="load the demo festival (once) and reset the demo admin")
    serve = sub.add_parser("serve", help="serve HTTP and WebSocket")
    serve.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    serve.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    user = sub.add_parser("create-user", help="create a user or reset its password")
    user.add_argument("username")
    user.add_argument("password")
    user.add_argument("roles", nargs="*", default=["admin"])
    args = parser.parse_args()
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "migrate":
        asyncio.run(_with_pool(_migrate))
    elif args.command == "demo":
        asyncio.run(_with_pool(_demo))
    elif args.command == "create-user":
        asyncio.run(_with_pool(create_user, args.username, args.password, args.roles))
    elif args.command == "serve":
        print(f"Guichet serving on http://{args.host}:{args.port}/", flush=True)
        uvicorn.run(
            "server.app:create_app",
            factory=True,
            host=args.host,
            port=args.port,
            workers=args.workers,
            ws="websockets-sansio",
            ws_per_message_deflate=False,
            ws_max_size=1024 * 1024,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            backlog=4096,
        )


if __name__ == "__main__":
    main()
