"""The demo festival loaded by ``make run``: a cinema, a theatre and a general-admission hall."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta

import asyncpg

from seatmap.generate import cinema, theatre
from seatmap.plan import plan_to_document
from server.auth import create_user
from server.catalog import Catalog

FILMS = ["Les Enfants du paradis", "Playtime", "Cléo de 5 à 7", "Le Samouraï"]
PLAYS = ["Cyrano de Bergerac", "Le Misanthrope", "En attendant Godot"]
CONCERTS = ["Nuit électro", "Fanfares du monde", "Jazz au bord du lac"]


async def load_demo(pool: asyncpg.Pool) -> bool:
    """Create the demo catalogue once. Returns False when it was already there."""
    async with pool.acquire() as conn:
        done = await conn.fetchval("SELECT value FROM settings WHERE name = 'demo_loaded'")
    if done:
        return False
    catalog = Catalog(pool)
    venue = await catalog.create_venue("Festival du Lac")
    cinema_room = await catalog.create_room(venue["id"], "Cinéma Lumière")
    theatre_room = await catalog.create_room(venue["id"], "Grand Théâtre")
    hall = await catalog.create_room(venue["id"], "La Halle")
    await catalog.import_plan(cinema_room["id"], plan_to_document(cinema()))
    await catalog.import_plan(theatre_room["id"], plan_to_document(theatre()))

    today = datetime.now(UTC).date()
    for day in range(3):
        date = today + timedelta(days=day)
        for n, hour in enumerate((14, 17, 20)):
            starts = datetime.combine(date, time(hour, 0), UTC)
            await catalog.create_session(
                {
                    "room_id": cinema_room["id"],
                    "event_name": FILMS[(day + n) % len(FILMS)],
                    "starts_at": starts,
                    "ends_at": starts + timedelta(hours=2),
                    "seated": True,
                    "tariffs": [
                        {"name": "Plein tarif", "price_cents": 1400, "currency": "EUR"},
                        {"name": "Réduit", "price_cents": 1000, "currency": "EUR"},
                        {"name": "Enfant", "price_cents": 800, "currency": "EUR"},
                    ],
                    "blocked_seats": ["hall-A-10", "hall-A-11"] if n == 0 else [],
                }
            )
        starts = datetime.combine(date, time(19, 30), UTC)
        await catalog.create_session(
            {
                "room_id": theatre_room["id"],
                "event_name": PLAYS[day % len(PLAYS)],
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=3),
                "seated": True,
                "tariffs": [
                    {"name": "Catégorie 1", "price_cents": 5500, "currency": "EUR"},
                    {"name": "Catégorie 2", "price_cents": 3800, "currency": "EUR"},
                    {"name": "Jeune", "price_cents": 2000, "currency": "EUR"},
                ],
            }
        )
        starts = datetime.combine(date, time(22, 0), UTC)
        await catalog.create_session(
            {
                "room_id": hall["id"],
                "event_name": CONCERTS[day % len(CONCERTS)],
                "starts_at": starts,
                "ends_at": starts + timedelta(hours=4),
                "seated": False,
                "contingents": [
                    {"name": "Public", "capacity": 700, "seat_ids": []},
                    {"name": "Invitations", "capacity": 100, "seat_ids": []},
                ],
                "tariffs": [{"name": "Entrée", "price_cents": 2500, "currency": "EUR"}],
            }
        )
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO settings (name, value) VALUES ('demo_loaded', '1')")
    return True


async def reset_demo_admin(pool: asyncpg.Pool) -> tuple[str, str]:
    """Give the demo admin a fresh password (printed by ``make run``)."""
    password = secrets.token_urlsafe(9)
    await create_user(pool, "admin", password, ["admin"])
    return "admin", password
