"""The cash journal partitioned by month (migration 0031): a populated journal migrates with
every entry, line, payment and reference kept and its chain verifying; receipt numbers and
entry ids stay unique over all months (journal_receipts); the journal stays append-only on
every partition; and an old season detaches with its lines and payments while the chain of
the months after it still verifies."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import pytest

from server.cash.journal import Draft, LineDraft, PaymentDraft, append, verify_register
from server.platform.db import migrate
from server.platform.partitions import detach_before
from tests.platform.journal_seed import Register, new_register, season, write
from tests.platform.test_migrations import database_before
from till.chain import Entry, Payment, entry_hash
from till.money import Kind

OLD_COLUMNS = {
    "journal": "*",
    "journal_lines": "journal_id, line_no, ticket_id, tariff_id, description, quantity,"
    " unit_gross_cents, tax_rate_bp, net_cents, tax_cents, gross_cents, currency, article_id,"
    " pass_id",
    "journal_payments": "journal_id, line_no, method, amount_cents, given_cents, change_cents,"
    " currency",
    "article_sales": "*",
    "pass_sales": "*",
    "reservation_payments": "*",
    "ledger_transactions": "*",
}
THIS_MONTH = f"{datetime.now(UTC):%Y%m}"
TABLES = ("journal", "journal_lines", "journal_payments")


@pytest.fixture
async def scratch(services: None) -> AsyncIterator[asyncpg.Connection]:
    """A database of its own, migrated up to the state before 0031."""
    async with database_before(31) as conn:
        yield conn


async def snapshot(conn: asyncpg.Connection) -> dict[str, list[asyncpg.Record]]:
    return {
        table: await conn.fetch(f"SELECT {columns} FROM {table} ORDER BY 1, 2")
        for table, columns in OLD_COLUMNS.items()
    }


async def migrated_season(conn: asyncpg.Connection) -> Register:
    reg = await season(conn)
    before = await snapshot(conn)
    applied = await migrate(conn)
    assert applied[0] == "0031_journal_partitions.sql"  # and the later ones
    assert await snapshot(conn) == before  # nothing lost, nothing changed
    return reg


async def test_a_populated_journal_migrates_with_every_row_and_reference(
    scratch: asyncpg.Connection,
) -> None:
    conn = scratch
    reg = await migrated_season(conn)
    assert await verify_register(conn, reg.id) is None
    parts = await conn.fetch(
        "SELECT receipt_no, tableoid::regclass::text AS part FROM journal ORDER BY receipt_no"
    )
    assert [r["part"] for r in parts] == [
        "journal_p202401",
        "journal_p202401",
        "journal_p202402",
        "journal_p202403",
        "journal_p202403",
        "journal_p202403",
        f"journal_p{THIS_MONTH}",
    ]
    lines = await conn.fetch(
        "SELECT l.tableoid::regclass::text AS part, j.tableoid::regclass::text AS entry"
        " FROM journal_lines l JOIN journal j ON j.id = l.journal_id"
    )
    assert lines and all(r["part"] == "journal_lines_" + r["entry"][8:] for r in lines)
    assert await conn.fetchval("SELECT count(*) FROM journal_receipts") == 7
    # Every reference is a real foreign key: to journal (id, created_at) from the lines and
    # payments, to the permanent receipt row from everything else.
    refs = await conn.fetch(
        "SELECT conrelid::regclass::text AS t, confrelid::regclass::text AS f"
        " FROM pg_constraint WHERE contype = 'f' AND conparentid = 0"
        " AND confrelid IN ('journal'::regclass, 'journal_receipts'::regclass)"
    )
    assert sorted((r["t"], r["f"]) for r in refs) == [
        ("article_sales", "journal_receipts"),
        ("journal", "journal_receipts"),
        ("journal_lines", "journal"),
        ("journal_payments", "journal"),
        ("ledger_transactions", "journal_receipts"),
        ("pass_sales", "journal_receipts"),
        ("reservation_payments", "journal_receipts"),
    ]
    with pytest.raises(asyncpg.ForeignKeyViolationError):
        await conn.execute(
            "INSERT INTO article_sales (idempotency_key, register_session_id, fingerprint,"
            " journal_id) VALUES ('stray', $1, 'f', 999999)",
            reg.session_id,
        )
    with pytest.raises(asyncpg.ForeignKeyViolationError):  # a line of the wrong month
        await conn.execute(
            "INSERT INTO journal_lines (journal_id, journal_created_at, line_no, description,"
            " quantity, unit_gross_cents, tax_rate_bp, net_cents, tax_cents, gross_cents,"
            " currency) VALUES ($1, now(), 9, 'x', 1, 0, 0, 0, 0, 0, 'EUR')",
            reg.ids[0],
        )


async def test_receipt_numbers_stay_unique_over_every_month(scratch: asyncpg.Connection) -> None:
    conn = scratch
    reg = await migrated_season(conn)
    next_id = await conn.fetchval("SELECT nextval('journal_id_seq')")
    assert next_id > max(reg.ids)  # the sequence numbers on
    # Receipt 1 again, in another month than the first receipt 1: the database refuses it.
    reg.next_receipt = 1
    with pytest.raises(asyncpg.UniqueViolationError, match="journal_receipts_pkey"):
        await write(
            conn,
            reg,
            "2024-06-01T00:00:00+00:00",
            "float",
            [],
            [Payment(1, "cash", 100, None, None)],
            total=100,
        )
    # An existing entry id in another month: refused too.
    with pytest.raises(asyncpg.UniqueViolationError, match="journal_id"):
        await conn.execute(
            "INSERT INTO journal SELECT id, register_id, 99, register_session_id, cashier_id,"
            " kind, created_at + interval '2 months', currency, total_cents, net_cents,"
            " tax_cents, order_id, reverses_id, reason, prev_hash, hash FROM journal"
            " WHERE id = $1",
            reg.ids[0],
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # receipts come from entries only
        await conn.execute("INSERT INTO journal_receipts VALUES ($1, 50, 424242, now())", reg.id)
    # The code's insert (one statement) fills the partition key of lines and payments.
    async with conn.transaction():
        made = await append(conn, reg.id, reg.session_id, reg.cashier_id, sale(700))
    assert made.receipt_no == 8
    assert (
        await conn.fetchval(
            "SELECT tableoid::regclass::text FROM journal_payments WHERE journal_id = $1",
            made.journal_id,
        )
        == f"journal_payments_p{THIS_MONTH}"
    )
    assert await verify_register(conn, reg.id) is None


def sale(cents: int) -> Draft:
    return Draft(
        Kind.SALE, "EUR", (PaymentDraft("cash", cents),), (LineDraft("Soda", 1, cents, 550),)
    )


@pytest.mark.parametrize("table", ["journal", "journal_lines", "journal_payments"])
async def test_every_partition_is_append_only(scratch: asyncpg.Connection, table: str) -> None:
    conn = scratch
    await migrated_season(conn)
    for name in (table, f"{table}_p202401", f"{table}_p{THIS_MONTH}", f"{table}_default"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"TRUNCATE {name} CASCADE")
        if name.endswith("_default"):
            continue  # empty: a row trigger has no row to refuse
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"DELETE FROM {name} WHERE true")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f"UPDATE {name} SET currency = 'USD'")
    for statement in (
        "TRUNCATE journal_receipts CASCADE",
        "DELETE FROM journal_receipts",
        "UPDATE journal_receipts SET receipt_no = receipt_no + 100",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(statement)


async def test_an_old_season_detaches_and_the_chain_verifies_on(
    scratch: asyncpg.Connection,
) -> None:
    conn = scratch
    reg = await migrated_season(conn)
    detached = await detach_before(conn, date(2024, 3, 1))
    assert [d for d in detached if d.startswith("journal")] == [
        "journal_lines_p202401",
        "journal_lines_p202402",
        "journal_payments_p202401",
        "journal_payments_p202402",
        "journal_p202401",
        "journal_p202402",
    ]
    assert await conn.fetchval("SELECT min(receipt_no) FROM journal") == 4
    anchor = await conn.fetchrow(
        "SELECT first_receipt, last_receipt, entries, last_hash, partitions"
        " FROM journal_detached WHERE register_id = $1",
        reg.id,
    )
    assert (anchor["first_receipt"], anchor["last_receipt"], anchor["entries"]) == (1, 3, 3)
    assert anchor["partitions"] == ["journal_p202401", "journal_p202402"]
    march_first = await conn.fetchval("SELECT prev_hash FROM journal WHERE receipt_no = 4")
    assert anchor["last_hash"] == march_first  # February's last hash is March's first prev
    assert await verify_register(conn, reg.id) is None
    # The refund in March still names the January sale it reversed; the wallet, pass and
    # article references still hold; the archived months keep their own keys.
    assert await conn.fetchval("SELECT reverses_id FROM journal WHERE receipt_no = 4") == reg.ids[1]
    assert await conn.fetchval("SELECT count(*) FROM journal_lines_p202401") == 1
    with pytest.raises(asyncpg.ForeignKeyViolationError):  # its entry is not in the archive
        await conn.execute(
            "INSERT INTO journal_lines_p202401 (journal_id, journal_created_at, line_no,"
            " description, quantity, unit_gross_cents, tax_rate_bp, net_cents, tax_cents,"
            " gross_cents, currency) VALUES ($1, '2024-01-05', 1, 'x', 1, 0, 0, 0, 0, 0, 'EUR')",
            reg.ids[-1],
        )
    with pytest.raises(asyncpg.InsufficientPrivilegeError):  # and it is still append-only
        await conn.execute("UPDATE journal_p202401 SET reason = 'x'")
    # New entries go on after the anchor; deleting the head of the attached chain shows.
    async with conn.transaction():
        await append(conn, reg.id, reg.session_id, reg.cashier_id, sale(500))
    assert await verify_register(conn, reg.id) is None
    async with conn.transaction():  # what someone with the database's rights could do
        for t in TABLES:
            await conn.execute(f"ALTER TABLE {t} DISABLE TRIGGER {t}_no_change")
        await conn.execute(
            "WITH l AS (DELETE FROM journal_lines WHERE journal_id = $1),"
            " p AS (DELETE FROM journal_payments WHERE journal_id = $1)"
            " DELETE FROM journal WHERE id = $1",
            reg.ids[3],
        )
        for t in TABLES:
            await conn.execute(f"ALTER TABLE {t} ENABLE TRIGGER {t}_no_change")
    broken = await verify_register(conn, reg.id)
    assert broken is not None and (broken.receipt_no, broken.reason) == (5, "gap")


async def test_a_month_that_is_not_the_head_of_a_chain_is_not_detached(
    scratch: asyncpg.Connection,
) -> None:
    conn = scratch
    await migrated_season(conn)
    # A register whose receipt 2 is dated before its receipt 1 (a clock set back): its
    # January cannot go without its February.
    skewed = await season_register(conn)
    with pytest.raises(asyncpg.CheckViolationError, match="not the head of its chain"):
        await detach_before(conn, date(2024, 2, 1))
    assert await conn.fetchval("SELECT count(*) FROM journal_detached") == 0  # rolled back
    assert (
        await conn.fetchval("SELECT count(*) FROM journal WHERE register_id = $1", skewed.id) == 2
    )
    assert await conn.fetchval("SELECT to_regclass('journal_p202401') IS NOT NULL")
    # Both months together are a head: they go.
    assert "journal_p202402" in await detach_before(conn, date(2024, 3, 1))
    assert await verify_register(conn, skewed.id) is None


async def season_register(conn: asyncpg.Connection) -> Register:
    reg = await new_register(conn, "skewed")
    for at in ("2024-02-03T10:00:00+00:00", "2024-01-20T10:00:00+00:00"):
        await write_new(conn, reg, at)
    return reg


async def write_new(conn: asyncpg.Connection, reg: Register, at: str) -> None:
    """An entry written in the new schema (lines and payments with the partition key)."""
    when = datetime.fromisoformat(at)
    entry = Entry(
        reg.id,
        reg.next_receipt,
        reg.session_id,
        reg.cashier_id,
        "float",
        when,
        "EUR",
        100,
        100,
        0,
        None,
        None,
        None,
        [],
        [Payment(1, "cash", 100, None, None)],
    )
    digest = entry_hash(reg.head, entry)
    await conn.execute(
        "WITH j AS (INSERT INTO journal (register_id, receipt_no, register_session_id,"
        " cashier_id, kind, created_at, currency, total_cents, net_cents, tax_cents,"
        " prev_hash, hash) VALUES ($1, $2, $3, $4, 'float', $5, 'EUR', 100, 100, 0, $6, $7)"
        " RETURNING id, created_at)"
        " INSERT INTO journal_payments (journal_id, journal_created_at, line_no, method,"
        " amount_cents, currency) SELECT id, created_at, 1, 'cash', 100, 'EUR' FROM j",
        reg.id,
        entry.receipt_no,
        reg.session_id,
        reg.cashier_id,
        when,
        reg.head,
        digest,
    )
    reg.head, reg.next_receipt = digest, reg.next_receipt + 1
    await conn.execute(
        "UPDATE registers SET next_receipt = $2, head_hash = $3 WHERE id = $1",
        reg.id,
        reg.next_receipt,
        digest,
    )
