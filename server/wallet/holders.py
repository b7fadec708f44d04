"""Whose wallet a code opens: the pass or ticket the code was issued for.

A wallet has no card of its own: its QR code is the signed code of the pass or ticket it
rides on (``docs/ticket-codes.md``). Only the current code opens it (a pass or ticket
whose code was reissued answers ``code_replaced``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import asyncpg

from scanning.codes import CodeError, TicketClaims, TicketScope
from server.door.keys import KeyStore
from server.platform.errors import Conflict, Invalid, NotFound

MAX_CODE = 512


@dataclass(frozen=True, slots=True)
class Holder:
    """The pass or ticket a code names."""

    kind: str  # "pass" or "ticket"
    id: int
    name: str | None
    active: bool

    @property
    def column(self) -> str:
        return "pass_id" if self.kind == "pass" else "ticket_id"


async def claims_of(keys: KeyStore, code: object) -> TicketClaims:
    """The claims of a well-signed code (``invalid_code`` otherwise)."""
    if not isinstance(code, str) or not 1 <= len(code) <= MAX_CODE:
        raise Invalid("invalid_code", f"'code' is a ticket or pass code of 1-{MAX_CODE} characters")
    try:
        return await keys.verified(code.strip())
    except CodeError as exc:
        raise Invalid("invalid_code", "not a valid ticket or pass code", reason=exc.reason) from exc


HOLDER_SQL = {
    TicketScope.PASS: "SELECT id, holder_name AS name, status, code_seed FROM passes WHERE id = $1",
    TicketScope.SESSION: "SELECT t.id, o.buyer_name AS name, t.status, t.code_seed"
    " FROM tickets t JOIN orders o ON o.id = t.order_id WHERE t.id = $1",
}
"""The pass or ticket a code names (``$1``: its id), by the code's scope."""


def holder_id(claims: TicketClaims) -> int:
    return claims.scope_id if claims.scope is TicketScope.PASS else claims.ticket_id


def check_holder(claims: TicketClaims, row: Mapping[str, Any] | None) -> Holder:
    """The holder ``row`` (id, name, status, code_seed) read for ``claims``: it must exist
    and carry the code's seed (the current code)."""
    if row is None or row["id"] is None:
        raise NotFound("unknown_code", "no pass or ticket has this code")
    if bytes(row["code_seed"]) != claims.seed:
        raise Conflict("code_replaced", "this code was replaced by a newer one")
    kind = "pass" if claims.scope is TicketScope.PASS else "ticket"
    return Holder(kind, row["id"], row["name"], row["status"] == "active")


async def holder_of(conn: asyncpg.Connection, claims: TicketClaims) -> Holder:
    row = await conn.fetchrow(HOLDER_SQL[claims.scope], holder_id(claims))
    return check_holder(claims, row)
