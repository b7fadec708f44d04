"""The journal in Postgres: receipt numbers without gaps per register (under concurrent
appends and rolled-back transactions; a SEQUENCE, the control, leaves gaps), rows nobody
can change, and a hash chain that names the first row altered with SQL."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from server.cash.journal import Draft, LineDraft, PaymentDraft, append, verify_register
from tests import support
from tests.cash.helpers import cashier, desk_sale, new_register, open_session
from tests.support import Api, ServerProcess
from till.money import Kind

ROLLED_BACK = RuntimeError("the sale failed after its journal entry")


@pytest.fixture
async def pool(server: ServerProcess) -> AsyncIterator[asyncpg.Pool]:
    pool = await asyncpg.create_pool(support.testing_database_url(), min_size=2, max_size=12)
    try:
        yield pool
    finally:
        await pool.close()


async def open_register(admin: Api, server: ServerProcess) -> tuple[int, int, int]:
    """A register with an open session: (register, session, cashier)."""
    register_id = await new_register(admin)
    api = await cashier(admin, server)
    try:
        session_id = await open_session(api, register_id)
        me = (await api.http.get("/api/auth/me")).json()
    finally:
        await api.close()
    return register_id, session_id, me["id"]


def sale(cents: int) -> Draft:
    line = LineDraft("Full", 1, cents, 550)
    return Draft(Kind.SALE, "EUR", (PaymentDraft("cash", cents),), (line,))


async def append_or_roll_back(
    pool: asyncpg.Pool, register: tuple[int, int, int], n: int, with_sequence: bool
) -> None:
    """Append a sale (or take a SEQUENCE number, the control); every third transaction
    fails after taking its number and rolls back."""
    register_id, session_id, user_id = register
    async with pool.acquire() as conn:
        try:
            async with conn.transaction():
                if with_sequence:
                    await conn.execute("INSERT INTO receipts_control DEFAULT VALUES")
                else:
                    await append(conn, register_id, session_id, user_id, sale(100 + n))
                await asyncio.sleep(0.001 * (n % 4))  # let the others queue on the lock
                if n % 3 == 0:
                    raise ROLLED_BACK
        except RuntimeError as exc:
            assert exc is ROLLED_BACK


async def test_receipt_numbers_have_no_gap_under_concurrency_and_rollbacks(
    admin: Api, server: ServerProcess, pool: asyncpg.Pool
) -> None:
    register = await open_register(admin, server)
    await asyncio.gather(*(append_or_roll_back(pool, register, n, False) for n in range(60)))
    async with pool.acquire() as conn:
        numbers = [
            r["receipt_no"]
            for r in await conn.fetch(
                "SELECT receipt_no FROM journal WHERE register_id = $1 ORDER BY receipt_no",
                register[0],
            )
        ]
        assert await verify_register(conn, register[0]) is None
    assert numbers == list(range(1, 1 + 1 + 40))  # the float, then 40 committed sales


async def test_control_a_sequence_leaves_gaps_where_transactions_rolled_back(
    admin: Api, server: ServerProcess, pool: asyncpg.Pool
) -> None:
    register = await open_register(admin, server)
    async with pool.acquire() as conn:
        await conn.execute("CREATE TABLE IF NOT EXISTS receipts_control (no bigserial PRIMARY KEY)")
        await conn.execute("TRUNCATE receipts_control RESTART IDENTITY")
    await asyncio.gather(*(append_or_roll_back(pool, register, n, True) for n in range(60)))
    async with pool.acquire() as conn:
        numbers = [r["no"] for r in await conn.fetch("SELECT no FROM receipts_control ORDER BY no")]
    assert len(numbers) == 40 and numbers != list(range(1, 41))  # 20 numbers lost


async def test_concurrent_desk_sales_on_one_register_number_without_gaps(
    admin: Api, server: ServerProcess
) -> None:
    register_id = await new_register(admin)
    api = await cashier(admin, server)
    try:
        s = await admin.create_session()
        rs = await open_session(api, register_id)
        results = await asyncio.gather(*(desk_sale(api, s, rs, [seat]) for seat in s.seat_ids[:16]))
    finally:
        await api.close()
    assert all(r.status_code == 201 for r in results), [r.text for r in results]
    receipts = sorted(r.json()["receipt"]["receipt_no"] for r in results)
    assert receipts == list(range(2, 18))
    conn = await asyncpg.connect(support.testing_database_url())
    try:
        assert await verify_register(conn, register_id) is None
    finally:
        await conn.close()


@pytest.mark.parametrize("table", ["journal", "journal_lines", "journal_payments"])
@pytest.mark.parametrize(
    "statement", ["UPDATE {t} SET currency = 'USD'", "DELETE FROM {t}", "TRUNCATE {t} CASCADE"]
)
async def test_the_journal_is_append_only(
    admin: Api, server: ServerProcess, pool: asyncpg.Pool, table: str, statement: str
) -> None:
    register = await open_register(admin, server)
    async with pool.acquire() as conn:
        await append(conn, *register, sale(1500))
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await conn.execute(statement.format(t=table))


TAMPERING = [
    ("journal", "total_cents = total_cents + 1, net_cents = net_cents + 1"),
    ("journal", "created_at = created_at + interval '1 second'"),
    ("journal", "reason = 'edited'"),
    ("journal", "hash = sha256(hash)"),
    ("journal_lines", "description = 'Reduced'"),
    ("journal_lines", "tax_rate_bp = 2000"),
    ("journal_payments", "method = 'card'"),
]


@pytest.mark.parametrize(("table", "change"), TAMPERING)
async def test_altering_any_row_breaks_verification_at_that_row(
    admin: Api, server: ServerProcess, pool: asyncpg.Pool, table: str, change: str
) -> None:
    register = await open_register(admin, server)
    register_id = register[0]
    async with pool.acquire() as conn:
        for cents in (1500, 1000, 2500, 900):
            async with conn.transaction():
                await append(conn, *register, sale(cents))
        assert await verify_register(conn, register_id) is None
        target = await conn.fetchval(
            "SELECT id FROM journal WHERE register_id = $1 AND receipt_no = 3", register_id
        )
        key = "id" if table == "journal" else "journal_id"
        async with conn.transaction():  # what someone with the database's rights could do
            for t in ("journal", "journal_lines", "journal_payments"):
                await conn.execute(f"ALTER TABLE {t} DISABLE TRIGGER {t}_no_change")
            if "created_at" in change:
                # The lines and payments carry their entry's created_at (the partition key,
                # under a foreign key): moving an entry in time moves them in one statement.
                await conn.execute(
                    f"WITH e AS (UPDATE journal SET {change} WHERE id = $1),"
                    " l AS (UPDATE journal_lines SET journal_created_at = journal_created_at"
                    " + interval '1 second' WHERE journal_id = $1)"
                    " UPDATE journal_payments SET journal_created_at = journal_created_at"
                    " + interval '1 second' WHERE journal_id = $1",
                    target,
                )
            else:
                await conn.execute(f"UPDATE {table} SET {change} WHERE {key} = $1", target)
            for t in ("journal", "journal_lines", "journal_payments"):
                await conn.execute(f"ALTER TABLE {t} ENABLE TRIGGER {t}_no_change")
        broken = await verify_register(conn, register_id)
    assert broken is not None and broken.receipt_no == 3, broken


def verify_command(register_id: int) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": support.testing_database_url()}
    return subprocess.run(
        [sys.executable, "-m", "server.cli", "verify-journal", str(register_id)],
        cwd=support.ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def test_the_verify_command_names_the_first_broken_entry(
    admin: Api, server: ServerProcess, pool: asyncpg.Pool
) -> None:
    register = await open_register(admin, server)
    async with pool.acquire() as conn:
        for cents in (1500, 1000, 2500):
            await append(conn, *register, sale(cents))
    ok = await asyncio.to_thread(verify_command, register[0])
    assert ok.returncode == 0 and "verified, 4 entries" in ok.stdout, ok.stdout + ok.stderr
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("ALTER TABLE journal DISABLE TRIGGER journal_no_change")
        await conn.execute(
            "UPDATE journal SET total_cents = 1, net_cents = 1, tax_cents = 0"
            " WHERE register_id = $1 AND receipt_no = 2",
            register[0],
        )
        await conn.execute("ALTER TABLE journal ENABLE TRIGGER journal_no_change")
    broken = await asyncio.to_thread(verify_command, register[0])
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert "broken at receipt 2 (hash)" in broken.stdout


async def test_a_register_unknown_to_the_command_is_refused(server: ServerProcess) -> None:
    result = await asyncio.to_thread(verify_command, 10**12 + int(uuid.uuid4().int % 1000))
    assert result.returncode == 2 and "no such register" in result.stderr
