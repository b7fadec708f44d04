"""The demo ``make run`` loads (``python -m server.cli demo`` after ``migrate``, as
scripts/serve.sh runs them) on an empty database: one user per role family signs in, the
demo festival's sessions can be sold, the bar and the passes with wallets are there; and a
second run, as every ``make run`` does, changes nothing but the passwords it sets again."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import asyncpg
import httpx
import pytest
import redis

from tests import support
from tests.platform.test_migrations import database_url
from tests.support import ROOT, ServerProcess

COUNTED = (
    "users",
    "sessions",
    "tickets",
    "passes",
    "wallets",
    "registers",
    "articles",
    "pass_types",
    "journal",
    "ledger_transactions",
)


@pytest.fixture
def empty_database(services: None) -> Iterator[str]:
    """A new, empty database of its own: its URL (dropped afterwards)."""
    name = "guichet_demo_" + uuid.uuid4().hex[:8]
    admin = database_url("postgres")
    subprocess.run(["psql", admin, "-qc", f"CREATE DATABASE {name}"], check=True)
    try:
        yield database_url(name)
    finally:
        subprocess.run(["psql", admin, "-qc", f"DROP DATABASE {name} WITH (FORCE)"], check=True)


def demo_redis_url() -> str:
    """A Redis database of the demo's own: its sessions have the ids 1, 2, ... of the empty
    database, and their seats and holds must not land on the keys of the suite's sessions
    with the same ids (a later test would find its seats sold)."""
    url = support.testing_redis_url()
    if support.on_cluster():
        return url
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{support.TEST_REDIS_DB + 1}"))


@pytest.fixture
def demo_redis(services: None) -> Iterator[None]:
    yield
    flushed = redis.Redis.from_url(demo_redis_url())
    try:
        flushed.flushdb()
    finally:
        flushed.close()


def cli(url: str, *args: str) -> str:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": demo_redis_url()}
    done = subprocess.run(
        [sys.executable, "-m", "server.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


async def counts(url: str) -> dict[str, int]:
    conn = await asyncpg.connect(url)
    try:
        return {t: await conn.fetchval(f"SELECT count(*) FROM {t}") for t in COUNTED}
    finally:
        await conn.close()


async def test_the_demo_loads_on_an_empty_database_and_a_second_run_changes_nothing(
    empty_database: str, demo_redis: None, tmp_path: Path
) -> None:
    passwords = tmp_path / "demo-staff-passwords"
    cli(empty_database, "migrate")
    first = cli(empty_database, "demo", "--password-file", str(passwords))
    assert "demo festival loaded" in first
    loaded = await counts(empty_database)
    second = cli(empty_database, "demo", "--password-file", str(passwords))
    assert "demo festival already present" in second
    assert await counts(empty_database) == loaded  # idempotent
    staff = dict(re.findall(r"username '(\w+)'\s+password '([^']+)'", second))
    assert set(staff) == {"admin", "caisse", "controle", "compta", "bar"}
    assert staff == dict(re.findall(r"username '(\w+)'\s+password '([^']+)'", first))
    wallet_codes = re.findall(r"^  .+? \(\d+\.\d\d EUR\): (.+)$", second, flags=re.M)
    assert len(wallet_codes) >= 2

    server = ServerProcess({"DATABASE_URL": empty_database, "REDIS_URL": demo_redis_url()})
    try:
        server.wait_ready()
        async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
            tokens = {}
            for username, password in staff.items():  # one user per role family
                r = await http.post(
                    "/api/auth/login", json={"username": username, "password": password}
                )
                assert r.status_code == 200, (username, r.text)
                tokens[username] = r.json()["token"]

            # the festival's sessions are on sale: a place or seat can be held
            sessions = (await http.get("/api/sessions")).json()["sessions"]
            assert sessions and all(s["sales_open"] for s in sessions)
            for s in sessions:
                assert await holds_one(http, s), s

            # the bar with its drinks, for the bar steward
            bar = {"Authorization": f"Bearer {tokens['bar']}"}
            bars = (await http.get("/api/bars", headers=bar)).json()["bars"]
            assert [b["point_of_sale"] for b in bars] == ["Bar du festival"]
            assert bars[0]["articles"]

            # the passes' wallets hold money
            for code in wallet_codes:
                view = (await http.post("/api/wallet", json={"code": code})).json()
                assert view["status"] == "active" and view["balance_cents"] > 0
    finally:
        server.stop()


async def holds_one(http: httpx.AsyncClient, session: dict[str, object]) -> bool:
    """Whether a buyer can hold a place of ``session`` (a seat: one of the last 20 of the
    plan, the demo sells its first ones)."""
    path = f"/api/sessions/{session['id']}"
    if not session["seated"]:
        r = await http.post(f"{path}/holds", json={"quantity": 1})
        return r.status_code == 200
    seats = (await http.get(f"{path}/seat-map")).json()["seats"]
    for row in reversed(seats[-20:]):
        r = await http.post(f"{path}/holds", json={"seats": [row[0]]})
        if r.status_code == 200:
            return True
    return False
