"""The demo festival loaded by ``make run``: a cinema, a theatre and a general-admission hall,
a cash desk, a bar with its drinks, and two passes whose wallets hold money."""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, time, timedelta

import asyncpg

from seatmap.generate import cinema, theatre
from server.articles.stock import StockNews
from server.cash.journal import PaymentDraft
from server.cash.registers import Registers
from server.catalog.service import Catalog
from server.door.keys import KeyStore, ticket_code
from server.door.passes import PassService, PassSpec
from server.identity.users import create_user
from server.platform import redis_client
from server.platform.audit import SYSTEM
from server.wallet.service import Wallets

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
    venue = await catalog.create_venue("Festival du Lac", SYSTEM)
    cinema_room = await catalog.create_room(venue["id"], "Cinéma Lumière", SYSTEM)
    theatre_room = await catalog.create_room(venue["id"], "Grand Théâtre", SYSTEM)
    hall = await catalog.create_room(venue["id"], "La Halle", SYSTEM)
    await catalog.import_plan(cinema_room["id"], cinema(), SYSTEM)
    await catalog.import_plan(theatre_room["id"], theatre(), SYSTEM)

    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    preview = await catalog.create_session(
        {
            "room_id": cinema_room["id"],
            "event_name": "Avant-première : Le Voyage dans la Lune",
            "starts_at": now + timedelta(hours=1),
            "ends_at": now + timedelta(hours=3),
            "seated": True,
            "tariffs": [{"name": "Plein tarif", "price_cents": 1400, "currency": "EUR"}],
        },
        SYSTEM,
    )
    await _sell_demo_tickets(pool, preview["id"], preview["tariffs"][0]["id"])
    for day in range(3):
        await _demo_day(catalog, day, cinema_room["id"], theatre_room["id"], hall["id"])
    async with pool.acquire() as conn:
        await conn.execute("INSERT INTO settings (name, value) VALUES ('demo_loaded', '1')")
    return True


async def _demo_day(
    catalog: Catalog, day: int, cinema_room: int, theatre_room: int, hall: int
) -> None:
    """Three films, a play and a concert, ``day`` days from today."""
    today = datetime.now(UTC).date()
    date = today + timedelta(days=day)
    for n, hour in enumerate((14, 17, 20)):
        starts = datetime.combine(date, time(hour, 0), UTC)
        await catalog.create_session(
            {
                "room_id": cinema_room,
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
            },
            SYSTEM,
        )
    starts = datetime.combine(date, time(19, 30), UTC)
    await catalog.create_session(
        {
            "room_id": theatre_room,
            "event_name": PLAYS[day % len(PLAYS)],
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=3),
            "seated": True,
            "tariffs": [
                {"name": "Catégorie 1", "price_cents": 5500, "currency": "EUR"},
                {"name": "Catégorie 2", "price_cents": 3800, "currency": "EUR"},
                {"name": "Jeune", "price_cents": 2000, "currency": "EUR"},
            ],
        },
        SYSTEM,
    )
    starts = datetime.combine(date, time(22, 0), UTC)
    await catalog.create_session(
        {
            "room_id": hall,
            "event_name": CONCERTS[day % len(CONCERTS)],
            "starts_at": starts,
            "ends_at": starts + timedelta(hours=4),
            "seated": False,
            "contingents": [
                {"name": "Public", "capacity": 700, "seat_ids": []},
                {"name": "Invitations", "capacity": 100, "seat_ids": []},
            ],
            "tariffs": [{"name": "Entrée", "price_cents": 2500, "currency": "EUR"}],
        },
        SYSTEM,
    )


DEMO_SEATS = ["hall-E-8", "hall-E-9", "hall-E-10", "hall-E-11"]
DEMO_ORDER_KEY = "demo-order-0001"


async def _sell_demo_tickets(pool: asyncpg.Pool, session_id: int, tariff_id: int) -> None:
    """A paid order of four tickets for the session starting soon, to try the scanner."""
    async with pool.acquire() as conn, conn.transaction():
        order_id = await conn.fetchval(
            "INSERT INTO orders (idempotency_key, session_id, hold_token, channel, buyer_name,"
            " total_cents, currency) VALUES ($1, $2, 'demo', 'pos', 'Demo buyer', $3, 'EUR')"
            " RETURNING id",
            DEMO_ORDER_KEY,
            session_id,
            1400 * len(DEMO_SEATS),
        )
        await conn.execute(
            "INSERT INTO tickets (order_id, session_id, seat_idx, tariff_id, price_cents)"
            " SELECT $1, $2, se.idx, $3, 1400 FROM sessions s"
            " JOIN seats se ON se.plan_id = s.seat_plan_id"
            " WHERE s.id = $2 AND se.seat_id = ANY($4::text[])",
            order_id,
            session_id,
            tariff_id,
            DEMO_SEATS,
        )


async def demo_ticket_codes(pool: asyncpg.Pool) -> list[tuple[int, str]]:
    """(ticket id, signed code) of the demo order's tickets."""
    rows = await pool.fetch(
        "SELECT t.id, t.session_id, t.code_seed, s.starts_at, s.ends_at FROM tickets t"
        " JOIN orders o ON o.id = t.order_id JOIN sessions s ON s.id = t.session_id"
        " WHERE o.idempotency_key = $1 ORDER BY t.id",
        DEMO_ORDER_KEY,
    )
    store = KeyStore(pool)
    return [
        (
            r["id"],
            await ticket_code(
                store, r["id"], r["session_id"], r["starts_at"], r["ends_at"], bytes(r["code_seed"])
            ),
        )
        for r in rows
    ]


DEMO_STAFF: tuple[tuple[str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    # username, role family, roles, points of sale
    ("admin", "admin (organiser)", ("admin",), ()),
    ("caisse", "cashier", ("pos", "refund", "wallet_manager"), ("Caisse 1", "Eshop")),
    ("controle", "door", ("entry_check",), ()),
    ("compta", "accounting", ("accounting", "stats"), ()),
    ("bar", "bar", ("waiter", "wallet_cashier"), ("Bar du festival",)),
)
DEMO_BAR = "Bar du festival"
DEMO_POINTS_OF_SALE = (("Caisse 1", "desk"), (DEMO_BAR, "bar"))


async def reset_demo_staff(
    pool: asyncpg.Pool, kept: dict[str, str] | None = None
) -> list[tuple[str, str, str]]:
    """One user per role family, with the passwords ``kept`` (or fresh ones):
    (username, family, password) each, printed by ``make run``."""
    kept = kept or {}
    async with pool.acquire() as conn:
        await conn.executemany(
            "INSERT INTO points_of_sale (name, kind) VALUES ($1, $2) ON CONFLICT DO NOTHING",
            DEMO_POINTS_OF_SALE,
        )
        ids = dict(await conn.fetch("SELECT name, id FROM points_of_sale"))
    staff = []
    for username, family, roles, points in DEMO_STAFF:
        password = kept.get(username) or secrets.token_urlsafe(9)
        await create_user(
            pool,
            username,
            password,
            list(roles),
            display_name=family.capitalize(),
            points_of_sale=[ids[name] for name in points],
        )
        staff.append((username, family, password))
    return staff


DEMO_ARTICLES: tuple[tuple[str, str, int, int, int | None, int | None], ...] = (
    # family, name, price (cents), tax rate (bp), stock (None: not counted), alert at
    ("Bar", "Bière pression 25 cl", 450, 2000, 120, 20),
    ("Bar", "Soda 33 cl", 350, 550, 60, 10),
    ("Bar", "Eau plate 50 cl", 200, 550, 80, 15),
    ("Bar", "Café", 200, 1000, None, None),
    ("Boutique", "Programme du festival", 500, 550, 200, 25),
    ("Boutique", "T-shirt Festival du Lac", 2000, 2000, 30, 5),
)
DEMO_REGISTERS = (("Caisse 1", "Caisse 1"), (DEMO_BAR, "Bar 1"))  # point of sale, register
DEMO_SHELVES = (("Bar", DEMO_BAR), ("Boutique", "Caisse 1"))  # family, where it is sold


async def load_demo_articles(pool: asyncpg.Pool) -> None:
    """The bar's and the shop's articles (once: when the families have none), the drinks
    sold at the bar and the shop's articles at the desk, and a register at each of the
    two points of sale (once: when it has none). Run after ``reset_demo_staff``, which
    creates the points of sale."""
    async with pool.acquire() as conn, conn.transaction():
        await conn.executemany(
            "INSERT INTO article_families (name) VALUES ($1) ON CONFLICT DO NOTHING",
            [(f,) for f in sorted({a[0] for a in DEMO_ARTICLES})],
        )
        families = dict(await conn.fetch("SELECT name, id FROM article_families"))
        if not await conn.fetchval(
            "SELECT 1 FROM articles WHERE family_id = ANY($1::bigint[])",
            [families[f] for f in ("Bar", "Boutique")],
        ):
            await conn.executemany(
                "INSERT INTO articles (family_id, name, price_cents, currency, tax_rate_bp,"
                " stock, alert_at) VALUES ($1, $2, $3, 'EUR', $4, $5, $6)",
                [(families[f], *rest) for f, *rest in DEMO_ARTICLES],
            )
        await conn.executemany(
            "UPDATE articles a SET point_of_sale_id = p.id FROM points_of_sale p"
            " WHERE p.name = $2 AND a.point_of_sale_id IS NULL AND a.family_id = $1",
            [(families[f], point) for f, point in DEMO_SHELVES],
        )
        await conn.executemany(
            "INSERT INTO registers (point_of_sale_id, name)"
            " SELECT id, $2 FROM points_of_sale p WHERE p.name = $1"
            " AND NOT EXISTS (SELECT 1 FROM registers r WHERE r.point_of_sale_id = p.id)",
            DEMO_REGISTERS,
        )


async def load_demo_pass_types(pool: asyncpg.Pool) -> None:
    """Two pass types (once: when there are none): a festival pass for every session of
    the festival's three days, and a card of three films among the cinema's sessions."""
    async with pool.acquire() as conn, conn.transaction():
        if await conn.fetchval("SELECT 1 FROM pass_types LIMIT 1"):
            return
        start = datetime.combine(datetime.now(UTC).date(), time(0, 0), UTC)
        await conn.execute(
            "INSERT INTO pass_types (name, price_cents, currency, tax_rate_bp, valid_from,"
            " valid_until) VALUES ('Pass Festival 3 jours', 6000, 'EUR', 550, $1, $2)",
            start,
            start + timedelta(days=3),
        )
        films = await conn.fetch(
            "SELECT s.id FROM sessions s JOIN rooms r ON r.id = s.room_id"
            " WHERE r.name = 'Cinéma Lumière' AND s.starts_at >= $1 ORDER BY s.starts_at",
            start,
        )
        if films:
            await conn.execute(
                "INSERT INTO pass_types (name, price_cents, currency, tax_rate_bp, session_ids,"
                " max_sessions) VALUES ('Carte 3 films', 3000, 'EUR', 550, $1, 3)",
                [f["id"] for f in films],
            )


DEMO_WALLETS = (("Camille Martin", 3000), ("Yanis Benali", 1500))  # pass holder, top-up
DEMO_WALLET_REGISTER = ("Caisse 1", "Caisse 2")  # where the demo top-ups are journalled


async def load_demo_wallets(pool: asyncpg.Pool, redis_url: str) -> list[tuple[str, int, str]]:
    """Two festival passes with money on their wallets (once), topped up in cash by the
    cashier ``caisse`` in a register session of "Caisse 2" opened and closed for it, as
    at the desk: journalled through the wallet service, never written by hand. Returns
    (holder, balance, code) of each demo pass. Run after ``load_demo_pass_types``."""
    keys = KeyStore(pool)
    passes = PassService(pool, keys)
    async with pool.acquire() as conn:
        rows = await conn.fetch(
            "SELECT p.id, p.holder_name, coalesce(a.balance_cents, 0) AS balance"
            " FROM passes p LEFT JOIN wallets w ON w.pass_id = p.id"
            " LEFT JOIN ledger_accounts a ON a.id = w.account_id"
            " WHERE p.holder_name = ANY($1::text[]) AND p.created_by IS NULL ORDER BY p.id",
            [name for name, _ in DEMO_WALLETS],
        )
    if not rows:
        rows = await _top_up_demo_passes(pool, keys, passes, redis_url)
    return [(r["holder_name"], r["balance"], (await passes.code(r["id"]))[0]) for r in rows]


async def _top_up_demo_passes(
    pool: asyncpg.Pool, keys: KeyStore, passes: PassService, redis_url: str
) -> list[asyncpg.Record]:
    async with pool.acquire() as conn:
        kind = await conn.fetchrow(
            "SELECT id, valid_from, valid_until FROM pass_types"
            " WHERE name = 'Pass Festival 3 jours'"
        )
        cashier = await conn.fetchval("SELECT id FROM users WHERE username = 'caisse'")
        point, name = DEMO_WALLET_REGISTER
        register = await conn.fetchval(
            "INSERT INTO registers (point_of_sale_id, name) SELECT id, $2 FROM points_of_sale"
            " WHERE name = $1 ON CONFLICT DO NOTHING RETURNING id",
            point,
            name,
        ) or await conn.fetchval(
            "SELECT r.id FROM registers r JOIN points_of_sale p ON p.id = r.point_of_sale_id"
            " WHERE p.name = $1 AND r.name = $2",
            point,
            name,
        )
    if kind is None or cashier is None or register is None:
        return []
    client = redis_client.connect(redis_url)  # the stock news a top-up never sends
    try:
        wallets = Wallets(pool, keys, StockNews(pool, client))
        registers = Registers(pool)
        opened = await registers.open(register, cashier, {}, SYSTEM)
        for n, (holder, amount) in enumerate(DEMO_WALLETS, 1):
            card = await passes.create(
                PassSpec(holder, None, kind["valid_from"], kind["valid_until"], True, (), None),
                None,
            )
            code, _ = await passes.code(card["id"])
            cash = PaymentDraft("cash", amount)
            await wallets.top_up(
                f"demo-wallet-topup-{n:04d}", code, amount, cash, opened["id"], cashier, SYSTEM
            )
        total = sum(amount for _, amount in DEMO_WALLETS)
        counted = {500: total // 500}  # the demo amounts are in fives
        await registers.close(opened["id"], cashier, False, counted, SYSTEM)
    finally:
        await client.aclose()
    async with pool.acquire() as conn:
        return list(
            await conn.fetch(
                "SELECT p.id, p.holder_name, a.balance_cents AS balance FROM passes p"
                " JOIN wallets w ON w.pass_id = p.id JOIN ledger_accounts a ON a.id = w.account_id"
                " WHERE p.holder_name = ANY($1::text[]) AND p.created_by IS NULL ORDER BY p.id",
                [name for name, _ in DEMO_WALLETS],
            )
        )
