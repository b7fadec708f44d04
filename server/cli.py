"""Command line: ``python -m server.cli {migrate,demo,serve,check-port,create-user,roles-doc,
partitions,verify-journal}``."""

from __future__ import annotations

import argparse
import asyncio
import errno
import logging
import os
import socket
import sys
from collections.abc import Awaitable, Callable, Coroutine
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import quote

import asyncpg
import uvicorn

from server.cash.journal import verify_register
from server.demo import (
    demo_ticket_codes,
    load_demo,
    load_demo_articles,
    load_demo_pass_types,
    load_demo_wallets,
    reset_demo_staff,
)
from server.identity.users import create_user
from server.platform.config import Settings
from server.platform.db import migrate
from server.platform.errors import NotFound
from server.platform.partitions import MONTHS_AHEAD, create_ahead, detach_before

WS_PING_INTERVAL_S = 20.0
"""The server pings every WebSocket this often (a protocol ping, answered by the client's
stack): a proxy in front (deploy/haproxy.cfg, ``timeout tunnel 60s``) never sees a live socket
idle for longer, and a peer that stops answering is closed after ``WS_PING_TIMEOUT_S``."""
WS_PING_TIMEOUT_S = 20.0


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


async def _demo(pool: asyncpg.Pool, password_file: Path | None, reset: bool) -> None:
    loaded = await load_demo(pool)
    # The passwords are kept in a file so they stay the same from one run to the next (a
    # fresh one each run made the one printed last time stop working); set again each run,
    # so the printed ones always work.
    kept = None if reset or password_file is None else _read_passwords(password_file)
    staff = await reset_demo_staff(pool, kept)
    await load_demo_articles(pool)
    await load_demo_pass_types(pool)
    wallets = await load_demo_wallets(pool, Settings.from_env().redis_url)
    if password_file is not None:
        _write_passwords(password_file, {user: password for user, _, password in staff})
    print("demo festival loaded" if loaded else "demo festival already present")
    print("demo staff (sign in at /signin.html):")
    for user, family, password in staff:
        print(f"  {family:<18} username {user!r:<11} password {password!r}")
    codes = await demo_ticket_codes(pool)
    if codes:
        print("demo tickets to scan at /scanner.html (type or paste a code, then Enter):")
        for ticket_id, code in codes:
            print(f"  ticket {ticket_id}: {code}")
    if wallets:
        print(
            "demo passes with a wallet (type the code at /bar.html; the link is the holder's page):"
        )
        for holder, cents, code in wallets:
            print(f"  {holder} ({cents / 100:.2f} EUR): {code}")
            print(f"    /wallet.html#code={quote(code, safe='')}")


async def _partitions(pool: asyncpg.Pool, action: str, months: int, before: date | None) -> None:
    async with pool.acquire() as conn:
        if action == "create-ahead":
            made = await create_ahead(conn, months)
            print("made: " + (", ".join(made) or "none (all there)"))
        else:
            assert before is not None
            detached = await detach_before(conn, before)
            print("detached: " + (", ".join(detached) or "none"))


async def _verify_journal(pool: asyncpg.Pool, register_id: int) -> int:
    """Recompute a register's hash chain: 0 when it holds, 1 naming the first broken
    entry (docs/cash.md)."""
    async with pool.acquire() as conn:
        try:
            broken = await verify_register(conn, register_id)
        except NotFound:
            print(f"register {register_id}: no such register", file=sys.stderr)
            return 2
        entries = await conn.fetchval(
            "SELECT count(*) FROM journal WHERE register_id = $1", register_id
        )
    if broken is None:
        print(f"register {register_id}: journal verified, {entries} entries")
        return 0
    print(
        f"register {register_id}: journal broken at receipt {broken.receipt_no} ({broken.reason})"
    )
    return 1


def _read_passwords(path: Path) -> dict[str, str]:
    """``username password`` lines (a file of one bare word, from before there were demo
    users besides the admin, is the admin's password)."""
    try:
        lines = path.read_text(encoding="utf-8").split("\n")
    except FileNotFoundError:
        return {}
    words = [line.split() for line in lines if line.strip()]
    if len(words) == 1 and len(words[0]) == 1:
        return {"admin": words[0][0]}
    return {w[0]: w[1] for w in words if len(w) == 2}


def _write_passwords(path: Path, passwords: dict[str, str]) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # O_CREAT's mode does not apply to a file that already existed
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.writelines(f"{user} {password}\n" for user, password in passwords.items())


def _bind_error(host: str, port: int) -> OSError | None:
    """The error binding ``host:port`` the way uvicorn will (SO_REUSEADDR, every address of
    ``host``), or None when it can."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        return exc
    for family, kind, proto, _, address in addresses:
        with socket.socket(family, kind, proto) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                sock.bind(address)
            except OSError as exc:
                return exc
    return None


def _check_port(host: str, port: int) -> None:
    """Exit 1 with one clear line when the server could not listen. Checked before anything
    starts: uvicorn only binds after the app's start-up, and then fails with a log line."""
    exc = _bind_error(host, port)
    if exc is None:
        return
    if exc.errno == errno.EADDRINUSE:
        free = next((p for p in range(port + 1, port + 50) if not _bind_error(host, p)), port + 1)
        print(f"guichet: port {port} is in use; set PORT={free}", file=sys.stderr)
    else:
        print(f"guichet: cannot listen on {host}:{port}: {exc.strerror or exc}", file=sys.stderr)
    sys.exit(1)


def _run(coro: Coroutine[Any, Any, Any]) -> None:
    """Run one step; a Ctrl-C ends it quietly (exit 130), not with asyncio's traceback."""
    try:
        asyncio.run(coro)
    except KeyboardInterrupt:
        sys.exit(130)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="guichet")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="apply pending database migrations")
    demo = sub.add_parser("demo", help="load the demo festival (once) and set the demo admin")
    demo.add_argument(
        "--password-file",
        type=Path,
        help="keep the demo staff's passwords in this file (mode 600): made once, then"
        " reused; without it, every run makes fresh passwords",
    )
    demo.add_argument(
        "--reset-admin", action="store_true", help="give the demo staff fresh passwords"
    )
    serve = sub.add_parser("serve", help="serve HTTP and WebSocket")
    check = sub.add_parser("check-port", help="exit 1 with a message when the port is taken")
    for p in (serve, check):
        p.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
        p.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    serve.add_argument("--workers", type=int, default=int(os.environ.get("WEB_CONCURRENCY", "1")))
    user = sub.add_parser("create-user", help="create a user or reset its password")
    user.add_argument("username")
    user.add_argument("password")
    user.add_argument("roles", nargs="*", default=["admin"])
    sub.add_parser("roles-doc", help="print docs/roles.md: roles, permissions, who may call what")
    parts = sub.add_parser(
        "partitions", help="monthly partitions: audit log, scans, cash journal (docs/scaling.md)"
    )
    parts.add_argument("action", choices=["create-ahead", "detach"])
    parts.add_argument(
        "--months", type=int, default=MONTHS_AHEAD, help="create-ahead: months after this one"
    )
    parts.add_argument(
        "--before",
        type=date.fromisoformat,
        help="detach: the months that end on or before this day (YYYY-MM-DD)",
    )
    verify = sub.add_parser(
        "verify-journal", help="recompute a register's hash chain; exit 1 at the first break"
    )
    verify.add_argument("register_id", type=int)
    return parser


def main() -> None:
    args = _parser().parse_args()
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "migrate":
        _run(_with_pool(_migrate))
    elif args.command == "demo":
        _run(_with_pool(_demo, args.password_file, args.reset_admin))
    elif args.command == "create-user":
        _run(_with_pool(create_user, args.username, args.password, args.roles))
    elif args.command == "partitions":
        if args.action == "detach" and args.before is None:
            sys.exit("partitions detach needs --before YYYY-MM-DD")
        if not 0 <= args.months <= 120:
            sys.exit("--months must be between 0 and 120")
        _run(_with_pool(_partitions, args.action, args.months, args.before))
    elif args.command == "verify-journal":
        code = asyncio.run(_with_pool(_verify_journal, args.register_id))
        sys.exit(code)
    elif args.command == "roles-doc":
        from server.app import roles_document  # the whole app: only for this command

        sys.stdout.write(roles_document())
    elif args.command == "check-port":
        _check_port(args.host, args.port)
    elif args.command == "serve":
        _check_port(args.host, args.port)
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
            ws_ping_interval=WS_PING_INTERVAL_S,
            ws_ping_timeout=WS_PING_TIMEOUT_S,
            log_level="warning",
            access_log=False,
            timeout_graceful_shutdown=5,
            backlog=4096,
        )


if __name__ == "__main__":
    main()
