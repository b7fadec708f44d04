"""Passes sold at a register: one transaction claims the idempotency key, issues the pass
from its type, journals a ``sale`` entry with one line for it (the type's price and tax
rate snapshotted, the line naming the pass) and the payments, and audits the sale
(docs/passes.md).

The cash desk does not import the door: passes are issued, shown and refunded through
``PassIssuer``, a protocol of its own that ``server/app.py`` fills with the door's
``PassDesk``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any, Protocol

import asyncpg

from server.cash.desk import check_payments, entry
from server.cash.journal import Draft, LineDraft, PaymentDraft, append
from server.cash.registers import session_for
from server.platform import audit
from server.platform.audit import Actor
from server.platform.db import connection
from server.platform.errors import Invalid, Mismatch, NotFound
from server.sales.service import DeskSale
from till.money import Kind


class IssuedPass(Protocol):
    """A pass just issued, with what its journal line needs."""

    @property
    def id(self) -> int: ...
    @property
    def description(self) -> str: ...
    @property
    def price_cents(self) -> int: ...
    @property
    def currency(self) -> str: ...
    @property
    def tax_rate_bp(self) -> int: ...


class PassIssuer(Protocol):
    async def issue(
        self,
        conn: asyncpg.Connection,
        pass_type_id: int,
        first_name: str,
        last_name: str,
        photo: str | None,
        user_id: int,
    ) -> IssuedPass:
        """A pass of the type, in the caller's transaction."""
        ...

    async def sold(self, pass_id: int) -> dict[str, Any]:
        """The pass with its code, once committed."""
        ...

    async def unused_bookings(self, pass_ids: list[int]) -> list[int]:
        """The tickets of the sessions booked on the passes and not used yet."""
        ...

    async def refund(
        self, conn: asyncpg.Connection, pass_ids: list[int], refunded: set[int]
    ) -> None:
        """In the refund's transaction: the passes become refunded; ``refunded`` must
        hold all their unused bookings."""
        ...


@dataclass(frozen=True, slots=True)
class PassSale:
    """What is sold: a pass of a type for a holder."""

    pass_type_id: int
    first_name: str
    last_name: str
    photo: str | None


def fingerprint(sale: PassSale, desk: DeskSale) -> str:
    """What a retry must repeat to replay a sale."""
    body = [
        desk.register_session_id,
        sale.pass_type_id,
        sale.first_name,
        sale.last_name,
        hashlib.sha256((sale.photo or "").encode()).hexdigest(),
        [[p.method, p.amount_cents, p.given_cents] for p in desk.payments],
    ]
    return hashlib.sha256(json.dumps(body).encode()).hexdigest()


class PassSales:
    def __init__(self, pool: asyncpg.Pool, issuer: PassIssuer) -> None:
        self.pool = pool
        self.issuer = issuer

    async def sell(
        self, key: str, sale: PassSale, desk: DeskSale, user_id: int, actor: Actor
    ) -> tuple[dict[str, Any], bool]:
        """Sell a pass in the caller's open register session. Returns ``{"pass",
        "receipt"}`` (the pass with its code, the journal entry) and whether this call
        made it (False: a replay of the same key)."""
        payments = tuple(check_payments(desk))
        print_ = fingerprint(sale, desk)
        async with connection(self.pool) as conn:
            async with conn.transaction():
                try:
                    claimed = await conn.fetchval(
                        "INSERT INTO pass_sales (idempotency_key, register_session_id,"
                        " fingerprint) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING"
                        " RETURNING true",
                        key,
                        desk.register_session_id,
                        print_,
                    )
                except asyncpg.ForeignKeyViolationError as exc:
                    raise NotFound.of("register session") from exc
                if claimed:
                    journal_id, pass_id = await self._sell(
                        conn, key, sale, desk, payments, user_id, actor
                    )
                else:
                    journal_id, pass_id = await _replay(conn, key, print_)
            receipt = await entry(conn, journal_id)
        return {"pass": await self.issuer.sold(pass_id), "receipt": receipt}, bool(claimed)

    async def _sell(
        self,
        conn: asyncpg.Connection,
        key: str,
        sale: PassSale,
        desk: DeskSale,
        payments: tuple[PaymentDraft, ...],
        user_id: int,
        actor: Actor,
    ) -> tuple[int, int]:
        s = await session_for(conn, desk.register_session_id, user_id, False, "SHARE")
        issued = await self.issuer.issue(
            conn, sale.pass_type_id, sale.first_name, sale.last_name, sale.photo, user_id
        )
        if issued.currency != s["currency"]:
            raise Invalid("currency_mismatch", f"this register takes {s['currency']}")
        if sum(p.amount_cents for p in payments) != issued.price_cents:
            raise Invalid(
                "payments_mismatch",
                "the payments do not add up to the total",
                total_cents=issued.price_cents,
            )
        line = LineDraft(
            issued.description, 1, issued.price_cents, issued.tax_rate_bp, pass_id=issued.id
        )
        draft = Draft(Kind.SALE, s["currency"], payments, (line,))
        done = await append(conn, s["register_id"], s["id"], user_id, draft)
        await conn.execute(
            "UPDATE pass_sales SET journal_id = $2, pass_id = $3 WHERE idempotency_key = $1",
            key,
            done.journal_id,
            issued.id,
        )
        await audit.record(
            conn,
            actor,
            "journal.sale",
            f"journal:{done.journal_id}",
            pass_id=issued.id,
            pass_type_id=sale.pass_type_id,
            total_cents=issued.price_cents,
        )
        return done.journal_id, issued.id


async def _replay(conn: asyncpg.Connection, key: str, print_: str) -> tuple[int, int]:
    row = await conn.fetchrow(
        "SELECT fingerprint, journal_id, pass_id FROM pass_sales WHERE idempotency_key = $1", key
    )
    if row is None or row["fingerprint"] != print_:
        raise Mismatch(
            "idempotency_key_mismatch",
            "this idempotency key was used for a different sale; use a new key",
        )
    return row["journal_id"], row["pass_id"]
