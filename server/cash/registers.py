"""Registers and register sessions: a cashier's shift at one register, from the counted
float to the blind count and the numbered Z report (docs/cash.md).

One open session per register and per cashier: two partial unique indexes decide, so of
two concurrent opens exactly one commits. A session row is locked ``FOR UPDATE`` to close
it and ``FOR SHARE`` to journal into it, so nothing is journalled into a closed session.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import asyncpg

from server.cash.journal import Draft, PaymentDraft, append
from server.cash.reports import report
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Conflict, Forbidden, Invalid, NotFound
from till.money import OPERATION_SIGN, Kind, Method, count_total, expected_cash

ONE_OPEN = {
    "register_sessions_one_open_per_register": (
        "register_busy",
        "this register already has an open session",
    ),
    "register_sessions_one_open_per_cashier": (
        "cashier_busy",
        "you already have a register session open",
    ),
}


def counted_total(counted: Mapping[int, int]) -> int:
    try:
        return count_total(counted)
    except ValueError as exc:
        raise Invalid("invalid_count", str(exc), field="counted") from exc


def _counted_json(counted: Mapping[int, int]) -> str:
    return json.dumps({str(d): n for d, n in sorted(counted.items(), reverse=True) if n})


async def session_for(
    conn: asyncpg.Connection,
    session_id: int,
    user_id: int,
    supervisor: bool,
    lock: str = "SHARE",
) -> asyncpg.Record:
    """The open session ``user_id`` works in (or supervises), locked for ``lock``."""
    row = await conn.fetchrow(
        "SELECT * FROM register_sessions WHERE id = $1 FOR " + lock, session_id
    )
    if row is None:
        raise NotFound.of("register session")
    if row["cashier_id"] != user_id and not supervisor:
        raise Forbidden("not_your_register_session", "this register session is someone else's")
    if row["closed_at"] is not None:
        raise Conflict("register_session_closed", "this register session is closed")
    return row


class Registers:
    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool

    async def create(
        self, point_of_sale_id: int, name: str, currency: str, actor: Actor
    ) -> dict[str, Any]:
        async with connection(self.pool) as conn, conn.transaction():
            if not await conn.fetchval(
                "SELECT 1 FROM points_of_sale WHERE id = $1", point_of_sale_id
            ):
                raise NotFound("unknown_point_of_sale", "no such point of sale")
            try:
                row = await conn.fetchrow(
                    "INSERT INTO registers (point_of_sale_id, name, currency)"
                    " VALUES ($1, $2, $3) RETURNING id",
                    point_of_sale_id,
                    name,
                    currency,
                )
            except asyncpg.UniqueViolationError as exc:
                raise Conflict(
                    "register_exists", "this point of sale has a register so named"
                ) from exc
            await audit.record(conn, actor, "register.create", f"register:{row['id']}", name=name)
        return (await self.all(row["id"]))[0]

    async def all(self, register_id: int | None = None) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT r.id, r.point_of_sale_id, p.name AS point_of_sale, r.name, r.currency,"
                " r.next_receipt - 1 AS last_receipt, s.id AS open_session_id,"
                " s.cashier_id AS open_cashier_id FROM registers r"
                " JOIN points_of_sale p ON p.id = r.point_of_sale_id"
                " LEFT JOIN register_sessions s ON s.register_id = r.id AND s.closed_at IS NULL"
                " WHERE $1::bigint IS NULL OR r.id = $1 ORDER BY r.id",
                register_id,
            )
        return [dict(r) for r in rows]

    async def open(
        self, register_id: int, user_id: int, counted: Mapping[int, int], actor: Actor
    ) -> dict[str, Any]:
        """Open a session of ``register_id`` for ``user_id`` with a counted float."""
        async with connection(self.pool) as conn, conn.transaction():
            session_id = await self._open(conn, register_id, user_id, counted, actor, None)
        return await self.session(session_id)

    async def _open(
        self,
        conn: asyncpg.Connection,
        register_id: int,
        user_id: int,
        counted: Mapping[int, int],
        actor: Actor,
        handed_over_from: int | None,
    ) -> int:
        total = counted_total(counted)
        currency = await conn.fetchval("SELECT currency FROM registers WHERE id = $1", register_id)
        if currency is None:
            raise NotFound.of("register")
        try:
            async with conn.transaction():  # a savepoint: the refusal keeps the outer one
                session_id: int = await conn.fetchval(
                    "INSERT INTO register_sessions (register_id, cashier_id, currency,"
                    " opening_counted, opening_cents, handed_over_from)"
                    " VALUES ($1, $2, $3, $4::jsonb, $5, $6) RETURNING id",
                    register_id,
                    user_id,
                    currency,
                    _counted_json(counted),
                    total,
                    handed_over_from,
                )
        except asyncpg.UniqueViolationError as exc:
            code, message = ONE_OPEN.get(exc.constraint_name or "", ("busy", "already open"))
            raise Conflict(code, message) from exc
        cash = PaymentDraft(Method.CASH.value, total)
        draft = Draft(Kind.FLOAT, currency, (cash,), total_cents=total)
        await append(conn, register_id, session_id, user_id, draft)
        await audit.record(
            conn,
            actor,
            "register.open",
            f"register:{register_id}",
            register_session_id=session_id,
            opening_cents=total,
            handed_over_from=handed_over_from,
        )
        return session_id

    async def operate(
        self,
        session_id: int,
        user_id: int,
        supervisor: bool,
        kind: Kind,
        amount: int,
        reason: str,
        actor: Actor,
    ) -> dict[str, Any]:
        """A cash operation (credit, debit, credit error, debit error) with its reason."""
        sign = OPERATION_SIGN[kind]
        async with connection(self.pool) as conn, conn.transaction():
            s = await session_for(conn, session_id, user_id, supervisor)
            cash = PaymentDraft(Method.CASH.value, sign * amount)
            draft = Draft(kind, s["currency"], (cash,), total_cents=sign * amount, reason=reason)
            done = await append(conn, s["register_id"], session_id, user_id, draft)
            await audit.record(
                conn,
                actor,
                f"register.{kind.value}",
                f"register:{s['register_id']}",
                register_session_id=session_id,
                amount_cents=sign * amount,
                reason=reason,
            )
        return {
            "journal_id": done.journal_id,
            "register_id": s["register_id"],
            "receipt_no": done.receipt_no,
            "kind": kind.value,
            "amount_cents": sign * amount,
            "currency": s["currency"],
        }

    async def close(
        self,
        session_id: int,
        user_id: int,
        supervisor: bool,
        counted: Mapping[int, int],
        actor: Actor,
    ) -> dict[str, Any]:
        """The blind count: what was counted is recorded first, then compared."""
        async with connection(self.pool) as conn, conn.transaction():
            s = await session_for(conn, session_id, user_id, supervisor, "UPDATE")
            await self._close(conn, s, user_id, counted, actor)
        return await self.session(session_id, report_of=True)

    async def handover(
        self, session_id: int, user_id: int, counted: Mapping[int, int], actor: Actor
    ) -> dict[str, Any]:
        """Close another cashier's session with a count and open the caller's on the same
        register with that count as its float, in one transaction."""
        async with connection(self.pool) as conn, conn.transaction():
            s = await session_for(conn, session_id, user_id, True, "UPDATE")
            if s["cashier_id"] == user_id:
                raise Conflict("same_cashier", "hand the register over to someone else")
            await self._close(conn, s, user_id, counted, actor)
            opened = await self._open(conn, s["register_id"], user_id, counted, actor, session_id)
        return {
            "closed": await self.session(session_id, report_of=True),
            "opened": await self.session(opened),
        }

    async def _close(
        self,
        conn: asyncpg.Connection,
        s: asyncpg.Record,
        user_id: int,
        counted: Mapping[int, int],
        actor: Actor,
    ) -> None:
        total = counted_total(counted)
        movements = (await report(conn, s["id"])).movements
        expected = expected_cash(movements)
        difference = total - expected
        cash = PaymentDraft(Method.CASH.value, difference)
        draft = Draft(Kind.CLOSING_DIFFERENCE, s["currency"], (cash,), total_cents=difference)
        done = await append(conn, s["register_id"], s["id"], user_id, draft)
        z_number = await conn.fetchval(
            "UPDATE registers SET next_z = next_z + 1 WHERE id = $1 RETURNING next_z - 1",
            s["register_id"],
        )
        await conn.execute(
            "UPDATE register_sessions SET closed_at = now(), closed_by = $2,"
            " counted = $3::jsonb, counted_cents = $4, expected_cents = $5,"
            " difference_cents = $6, z_number = $7, z_hash = $8 WHERE id = $1",
            s["id"],
            user_id,
            _counted_json(counted),
            total,
            expected,
            difference,
            z_number,
            done.hash,
        )
        await audit.record(
            conn,
            actor,
            "register.close",
            f"register:{s['register_id']}",
            register_session_id=s["id"],
            z_number=z_number,
            counted_cents=total,
            expected_cents=expected,
            difference_cents=difference,
        )

    async def current(self, user_id: int) -> dict[str, Any]:
        async with connection(self.pool) as conn:
            session_id = await conn.fetchval(
                "SELECT id FROM register_sessions WHERE cashier_id = $1 AND closed_at IS NULL",
                user_id,
            )
        if session_id is None:
            raise NotFound("no_open_register_session", "you have no register session open")
        return await self.session(session_id)

    async def session(
        self, session_id: int, report_of: bool = False, blind: bool = False
    ) -> dict[str, Any]:
        """A session; with ``report_of``, its X report (open) or Z report (closed). A
        ``blind`` X report leaves out the expected cash."""
        async with connection(self.pool) as conn:
            row = await conn.fetchrow(
                "SELECT s.*, u.username AS cashier FROM register_sessions s"
                " JOIN users u ON u.id = s.cashier_id WHERE s.id = $1",
                session_id,
            )
            if row is None:
                raise NotFound.of("register session")
            body = session_json(row)
            if report_of:
                numbers = await report(conn, session_id)
                body["report"] = numbers.json(blind=blind and row["closed_at"] is None)
        return body

    async def sessions(self, register_id: int, limit: int, offset: int) -> list[dict[str, Any]]:
        async with connection(self.pool) as conn:
            rows = await conn.fetch(
                "SELECT s.*, u.username AS cashier FROM register_sessions s"
                " JOIN users u ON u.id = s.cashier_id WHERE s.register_id = $1"
                " ORDER BY s.id DESC LIMIT $2 OFFSET $3",
                register_id,
                limit,
                offset,
            )
        return [session_json(r) for r in rows]


def session_json(row: asyncpg.Record) -> dict[str, Any]:
    def counted(raw: str | None) -> dict[str, int] | None:
        return None if raw is None else dict(json.loads(raw))

    closed = row["closed_at"]
    return {
        "id": row["id"],
        "register_id": row["register_id"],
        "cashier_id": row["cashier_id"],
        "cashier": row["cashier"],
        "currency": row["currency"],
        "opened_at": row["opened_at"].isoformat(),
        "opening_counted": counted(row["opening_counted"]),
        "opening_cents": row["opening_cents"],
        "handed_over_from": row["handed_over_from"],
        "closed_at": None if closed is None else closed.isoformat(),
        "closed_by": row["closed_by"],
        "counted": counted(row["counted"]),
        "counted_cents": row["counted_cents"],
        "expected_cents": row["expected_cents"],
        "difference_cents": row["difference_cents"],
        "z_number": row["z_number"],
        "z_hash": None if row["z_hash"] is None else bytes(row["z_hash"]).hex(),
    }
