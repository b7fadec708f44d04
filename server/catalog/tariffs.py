"""Tariffs: what a ticket costs, for which seat categories, with which tax rate.

A tariff belongs to one session. Its ``categories`` name seat categories of the session's
plan (empty: every category); a general-admission session has no categories, so its
tariffs name none. A tariff that has tickets is never deleted, only deactivated
(``active``): sales refuse an inactive tariff, and one whose categories do not include the
seat's (``server/sales/service.py``). These helpers run inside the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import asyncpg

from server.platform.errors import Invalid, NotFound

COLUMNS = "id, session_id, name, price_cents, currency, tax_rate_bp, categories, note, active"
"""A tariff as every reply shows it (``schemas.SessionTariff``)."""
EDITABLE = ("name", "price_cents", "tax_rate_bp", "categories", "note", "active")


def tariff_json(row: asyncpg.Record, with_session: bool = True) -> dict[str, Any]:
    tariff = dict(row)
    tariff["categories"] = list(tariff["categories"])
    if not with_session:
        tariff.pop("session_id", None)
    return tariff


async def session_categories(
    conn: asyncpg.Connection, session_ids: Iterable[int], lock: bool = False
) -> dict[int, frozenset[str]]:
    """The seat categories of each session's plan (empty for general admission); sessions
    that do not exist are missing from the answer. ``lock`` locks the session rows."""
    rows = await conn.fetch(
        "SELECT s.id, coalesce((SELECT array_agg(c->>'name')"
        " FROM jsonb_array_elements(p.document->'categories') c), '{}') AS categories"
        " FROM sessions s LEFT JOIN seat_plans p ON p.id = s.seat_plan_id"
        " WHERE s.id = ANY($1::bigint[]) ORDER BY s.id" + (" FOR UPDATE OF s" if lock else ""),
        list(session_ids),
    )
    return {r["id"]: frozenset(r["categories"]) for r in rows}


def check_categories(session_id: int, known: frozenset[str], wanted: Iterable[str]) -> None:
    """Refuse categories the session's plan does not have (400 ``unknown_category``)."""
    unknown = sorted(set(wanted) - known)
    if unknown:
        raise Invalid(
            "unknown_category",
            "the session's seat plan has no such category",
            categories=unknown,
            session_id=session_id,
        )


async def insert(conn: asyncpg.Connection, session_id: int, t: dict[str, Any]) -> dict[str, Any]:
    row = await conn.fetchrow(
        "INSERT INTO tariffs (session_id, name, price_cents, currency, tax_rate_bp, categories,"
        f" note) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}",
        session_id,
        t["name"],
        t["price_cents"],
        t.get("currency") or "EUR",
        t.get("tax_rate_bp") or 0,
        sorted(set(t.get("categories") or [])),
        t.get("note") or "",
    )
    return tariff_json(row)


async def update(
    conn: asyncpg.Connection, tariff_id: int, changes: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Change a tariff's editable fields; returns (before, after)."""
    before = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM tariffs WHERE id = $1 FOR UPDATE", tariff_id
    )
    if before is None:
        raise NotFound.of("tariff")
    if changes.get("categories"):
        session_id = before["session_id"]
        known = await session_categories(conn, [session_id])
        check_categories(session_id, known.get(session_id, frozenset()), changes["categories"])
    if "categories" in changes:
        changes = {**changes, "categories": sorted(set(changes["categories"]))}
    fields = [f for f in EDITABLE if f in changes]
    if not fields:
        return tariff_json(before), tariff_json(before)
    sets = ", ".join(f"{f} = ${i}" for i, f in enumerate(fields, start=2))
    after = await conn.fetchrow(
        f"UPDATE tariffs SET {sets} WHERE id = $1 RETURNING {COLUMNS}",
        tariff_id,
        *(changes[f] for f in fields),
    )
    return tariff_json(before), tariff_json(after)


async def apply_grid(
    conn: asyncpg.Connection, session_ids: list[int], tariffs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Create every tariff on every session (all or nothing: the caller's transaction).

    404 ``not_found`` with the missing sessions; 400 ``unknown_category`` for the first
    session whose plan lacks a category a tariff names."""
    known = await session_categories(conn, session_ids, lock=True)
    missing = sorted(set(session_ids) - known.keys())
    if missing:
        raise NotFound("not_found", "no such sessions", sessions=missing)
    for session_id in session_ids:
        for t in tariffs:
            check_categories(session_id, known[session_id], t.get("categories") or [])
    return [await insert(conn, s, t) for s in session_ids for t in tariffs]
