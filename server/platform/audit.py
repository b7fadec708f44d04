"""The audit log: who did what, when, from which device or point of sale.

Rows are only inserted (a trigger refuses UPDATE, DELETE and TRUNCATE). Record an action in
the transaction that does it, so the log holds exactly what was committed; reading and
exporting it is identity's (``server.identity.audit``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True, slots=True)
class Actor:
    """Who acts: a user (``user_id`` > 0), a device (``device_id``), or nobody (the system,
    an anonymous buyer); the address and point of sale it acts from, when known."""

    user_id: int | None = None
    name: str | None = None
    device_id: int | None = None
    point_of_sale: str | None = None
    address: str | None = None


SYSTEM = Actor(name="system")


async def record(
    conn: asyncpg.Connection,
    actor: Actor,
    action: str,
    subject: str = "",
    **details: Any,
) -> None:
    """Append one entry (``action`` such as ``user.disable``; ``subject`` such as
    ``user:12``). Call it inside the transaction of the change it records."""
    await conn.execute(
        "INSERT INTO audit_log (actor_id, actor_name, device_id, point_of_sale, address,"
        " action, subject, details) VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)",
        actor.user_id,
        actor.name,
        actor.device_id,
        actor.point_of_sale,
        actor.address,
        action,
        subject,
        json.dumps(details, default=str),
    )
