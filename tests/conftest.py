"""Fixtures: a fresh test database and Redis, one real server process, an admin client."""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import os
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from typing import Any

# Before any server module is imported, and inherited by every process the suite starts:
# argon2's cheapest parameters for the suite's thousands of hashed passwords (still argon2id;
# tests/identity/test_sign_in.py checks a hash of production cost off the event loop).
os.environ.setdefault("GUICHET_PASSWORD_HASH", "cheapest-for-tests")

import httpx
import pytest
from hypothesis import settings

from tests.support import (
    ROOT,
    Api,
    ServerProcess,
    free_port,
    recreate_test_database,
    redis_connect,
    testing_database_url,
    testing_redis_url,
)

# Speed is the benchmarks' business, never a test's: no per-example deadline (hypothesis's
# default of 200 ms is a timed assertion that a busy CI machine can fail).
settings.register_profile("guichet", deadline=None)
settings.load_profile("guichet")

ADMIN_PASSWORD = "test-admin-password"

needs_services = pytest.mark.skipif(
    not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")),
    reason="needs DATABASE_URL and REDIS_URL (run `make test`)",
)


@pytest.fixture(scope="session")
async def services() -> AsyncIterator[None]:
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        pytest.fail("DATABASE_URL and REDIS_URL are not set: run the tests with `make test`")
    await recreate_test_database()
    client = redis_connect()
    await client.flushdb()
    await client.aclose()
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "migrate"],
        cwd=ROOT,
        check=True,
        env={
            **os.environ,
            "DATABASE_URL": testing_database_url(),
            "REDIS_URL": testing_redis_url(),
        },
        capture_output=True,
    )
    await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "server.cli", "create-user", "admin", ADMIN_PASSWORD, "admin"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={
            **os.environ,
            "DATABASE_URL": testing_database_url(),
            "REDIS_URL": testing_redis_url(),
        },
    )
    yield


@pytest.fixture(scope="session")
def server(services: None) -> Iterator[ServerProcess]:
    proc = ServerProcess()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def second_server(server: ServerProcess) -> Iterator[ServerProcess]:
    """Another server process on the same Redis and Postgres: what one process does, the
    other must see."""
    proc = ServerProcess()
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def admin_token(server: ServerProcess) -> str:
    r = httpx.post(
        server.url + "/api/auth/login", json={"username": "admin", "password": ADMIN_PASSWORD}
    )
    r.raise_for_status()
    token: str = r.json()["token"]
    return token


@pytest.fixture
async def admin(server: ServerProcess, admin_token: str) -> AsyncIterator[Api]:
    api = Api(server.url, admin_token)
    yield api
    await api.close()


@pytest.fixture
async def buyer(server: ServerProcess) -> AsyncIterator[Api]:
    api = Api(server.url)
    yield api
    await api.close()


class SmtpSink:
    """A real local SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.content, policy=email.policy.default)
        )
        return "250 OK"

    async def wait_for(self, recipient: str, within: float = 15) -> Any:
        deadline = asyncio.get_running_loop().time() + within
        while True:
            for message in self.messages:
                if message["To"] == recipient:
                    return message
            assert asyncio.get_running_loop().time() < deadline, f"no mail to {recipient}"
            await asyncio.sleep(0.1)


@pytest.fixture(scope="session")
def smtp_sink() -> Iterator[SmtpSink]:
    sink = SmtpSink()
    sink.controller.start()
    try:
        yield sink
    finally:
        sink.controller.stop()


def paying_env(sink: SmtpSink, **extra: str) -> dict[str, str]:
    """A server with the test payment provider and e-mails to ``sink``."""
    return {
        "GUICHET_PAYMENT_PROVIDER": "test",
        "SMTP_HOST": "127.0.0.1",
        "SMTP_PORT": str(sink.port),
        "SMTP_FROM": "billets@guichet.test",
        **extra,
    }


@contextlib.contextmanager
def paying_process(sink: SmtpSink, **extra: str) -> Iterator[ServerProcess]:
    """A server process with the test payment provider (``paying_env``), ready."""
    proc = ServerProcess(paying_env(sink, **extra))
    try:
        proc.wait_ready()
        yield proc
    finally:
        proc.stop()


@pytest.fixture(scope="session")
def paying_server(server: ServerProcess, smtp_sink: SmtpSink) -> Iterator[ServerProcess]:
    """A server whose shop takes payments through the test provider (docs/payments.md)."""
    with paying_process(smtp_sink) as proc:
        yield proc
