"""One online ticket scan's facts: read in one round trip, decided by the pure rules.

:class:`OnlineScan` is what :meth:`server.door.service.DoorService.scan` decides from: a
fresh scan id, the ticket with its session and whether its code is revoked, the ticket's
entry if it has one, and the verdict of :func:`scanning.decision.precheck`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from scanning.codes import CodeError, TicketClaims, TicketScope
from scanning.decision import Entry, ScannerContext, TicketFacts, precheck
from server.door.requests import ScanRequest
from server.platform.errors import Mismatch


def check_retry(replay: Any, claims: TicketClaims | CodeError, request: ScanRequest) -> None:
    """A stored scan under the same (device, nonce) must be this scan's retry: the same
    ticket, the same direction. (A code that named no known ticket is not compared.)"""
    _, _, _, _, ticket_id, mode = replay
    same_ticket = ticket_id is None or (
        isinstance(claims, TicketClaims)
        and claims.scope is TicketScope.SESSION
        and claims.ticket_id == ticket_id
    )
    if not same_ticket or (mode is not None and mode != request.mode.value):
        raise Mismatch("nonce_mismatch", "this nonce was used for another scan; send a new nonce")


class OnlineScan:
    """One online ticket scan once its facts are read
    (:data:`server.door.coalesced.ONLINE_FACTS_BATCH`)."""

    def __init__(
        self,
        device: str,
        request: ScanRequest,
        claims: TicketClaims | CodeError,
        row: asyncpg.Record,
    ) -> None:
        self.device, self.request, self.claims = device, request, claims
        self.scan_id: int = row["scan_id"]
        self.facts = ticket_facts(row)
        self.context = ScannerContext(
            now=datetime.now(UTC).timestamp(),
            session_id=request.session_id,
            room_id=request.room_id,
            mode=request.mode,
            reentry_allowed=bool(row["reentry_allowed"]),
        )
        self.decision = precheck(claims, self.facts, self.context)
        self.entry = (
            None
            if row["entered_at"] is None
            else Entry(row["entered_at"].timestamp(), row["entry_door"], row["inside"])
        )


def ticket_facts(row: asyncpg.Record) -> TicketFacts | None:
    if row["id"] is None:
        return None
    return TicketFacts(
        ticket_id=row["id"],
        session_id=row["session_id"],
        room_id=row["room_id"],
        status=row["status"],
        current_seed=bytes(row["code_seed"]),
        revoked=row["revoked"],
    )
