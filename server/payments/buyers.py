"""My tickets: a buyer signs in with a link sent to their e-mail address and sees every
order of that address.

Asking for a link answers the same whether or not the address has orders (nothing tells
who bought); only an address with shop orders gets a link, made due in the mail outbox in
the same transaction (``server.payments.mail``). Requests are limited per address in Redis
(every process shares the count).

A link is ``<id>.<mac>``: the MAC is HMAC-SHA256, with the server's link secret, over the
row's id and its random nonce; it is not stored, so the table alone opens nothing. A link
lasts ``LINK_TTL_S`` unless its buyer signs out first (``revoked_at``): short-lived, signed,
revocable.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Callable
from email.message import EmailMessage
from typing import Any

import asyncpg

from server.payments.links import order_link
from server.platform.db import connection
from server.platform.errors import Gone, Invalid, NotFound, RateLimited
from server.platform.redis_client import Client
from server.platform.scripts import REDIS_DOWN

log = logging.getLogger(__name__)

KIND = "buyer_signin"
LINK_TTL_S = 30 * 60
REQUEST_LIMIT = 3
"""Links one address may ask for within ``REQUEST_WINDOW_S``."""
REQUEST_WINDOW_S = 15 * 60
MAX_ORDERS = 200
BUYER_LINK_PATTERN = r"^[0-9]{1,18}\.[A-Za-z0-9_-]{32}$"
_LINK = re.compile(BUYER_LINK_PATTERN)
EMAIL_PATTERN = r"^[^@\s\x00]{1,64}@[^@\s\x00]{1,189}$"
_EMAIL = re.compile(EMAIL_PATTERN)

_ORDERS = (
    "SELECT o.id, o.status, o.total_cents, o.currency, o.created_at, x.sid AS session_id,"
    " s.event_name, s.starts_at, s.ends_at, r.name AS room,"
    " greatest((SELECT count(*) FROM tickets t WHERE t.order_id = o.id),"
    "          coalesce(CASE jsonb_typeof(o.lines) WHEN 'array' THEN jsonb_array_length(o.lines)"
    "                   WHEN 'object' THEN jsonb_array_length(o.lines->'tickets') END, 0))"
    "   AS tickets,"
    # a cart's passes and articles: delivered, or still lines while it is being paid
    " greatest((SELECT count(*) FROM order_products p WHERE p.order_id = o.id),"
    "          coalesce(CASE jsonb_typeof(o.lines) WHEN 'object'"
    "            THEN jsonb_array_length(coalesce(o.lines->'passes', '[]'))"
    "               + jsonb_array_length(coalesce(o.lines->'articles', '[]')) END, 0))"
    "   AS products"
    " FROM orders o"
    # a cart's order (docs/shop.md) names no session: its first ticket's (or line's); a cart
    # of passes and articles only has none, and is listed by the time it was made
    " CROSS JOIN LATERAL (SELECT coalesce(o.session_id, (SELECT t.session_id FROM tickets t"
    "   WHERE t.order_id = o.id ORDER BY t.id LIMIT 1),"
    "   (o.lines->'tickets'->0->>'session')::bigint) AS sid) x"
    " LEFT JOIN sessions s ON s.id = x.sid LEFT JOIN rooms r ON r.id = s.room_id"
    " WHERE lower(o.buyer_email) = $1 AND o.buyer_email IS NOT NULL AND o.channel = 'web'"
    " ORDER BY coalesce(s.starts_at, o.created_at) DESC, o.id DESC LIMIT $2"
)


def normal_email(text: str) -> str:
    """An address as links and orders are matched: trimmed, lower case; 400
    ``invalid_email`` when it is not one."""
    email = text.strip().lower()
    if not _EMAIL.match(email):
        raise Invalid("invalid_email", "not an e-mail address", field="email")
    return email


def _mac(secret: bytes, link_id: int, nonce: bytes) -> str:
    message = b"buyer-link:%d:" % link_id + nonce
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:24]).decode()


def buyer_link(secret: bytes, link_id: int, nonce: bytes) -> str:
    return f"{link_id}.{_mac(secret, link_id, nonce)}"


class BuyerLinks:
    """Sign-in links of buyers and what they open."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        client: Client,
        secret: bytes,
        wake_mailer: Callable[[], None],
    ) -> None:
        self.pool = pool
        self.redis = client
        self.secret = secret
        self.wake_mailer = wake_mailer

    async def _count_request(self, email: str) -> None:
        """Count a request of this address; past ``REQUEST_LIMIT`` in the window, 429
        ``too_many_requests`` (the same for every address). Redis down: not limited."""
        digest = hashlib.sha256(email.encode()).hexdigest()[:32]  # no address in Redis
        key = f"gq:buyerlink:{{{digest}}}"
        try:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, REQUEST_WINDOW_S, nx=True)
                pipe.ttl(key)
                count, _, ttl = await pipe.execute()
        except REDIS_DOWN:
            log.warning("sign-in link requests are not limited: Redis is unavailable")
            return
        if int(count) > REQUEST_LIMIT:
            wait = max(int(ttl), 1)
            raise RateLimited(
                "too_many_requests",
                "too many sign-in links asked for this address; try again later",
                retry_after=wait,
            )

    async def request(self, email_text: str, site_url: str) -> None:
        """Make a sign-in link due by e-mail if the address has shop orders; otherwise
        nothing (the caller answers the same either way)."""
        email = normal_email(email_text)
        await self._count_request(email)
        async with connection(self.pool) as conn, conn.transaction():
            link_id = await conn.fetchval(
                "INSERT INTO buyer_links (email, nonce, site_url, expires_at)"
                " SELECT $1, $2, $3, now() + make_interval(secs => $4)"
                " WHERE EXISTS (SELECT 1 FROM orders WHERE lower(buyer_email) = $1"
                "   AND buyer_email IS NOT NULL AND channel = 'web')"
                " RETURNING id",
                email,
                secrets.token_bytes(16),
                site_url,
                LINK_TTL_S,
            )
            if link_id is not None:
                await conn.execute(
                    "INSERT INTO mails (buyer_link_id, kind, recipient, site_url)"
                    " VALUES ($1, $2, $3, $4)",
                    link_id,
                    KIND,
                    email,
                    site_url,
                )
        if link_id is not None:
            self.wake_mailer()

    async def _open(self, conn: asyncpg.Connection, link: str) -> asyncpg.Record:
        """The row of a valid link: 400 ``invalid_link`` when malformed, 404
        ``unknown_link`` when not ours, 410 ``link_expired`` / ``link_revoked``."""
        if not _LINK.match(link):
            raise Invalid("invalid_link", "malformed sign-in link")
        ident, _, mac = link.partition(".")
        row = await conn.fetchrow(
            "SELECT id, email, nonce, expires_at, revoked_at, expires_at <= now() AS expired"
            " FROM buyer_links WHERE id = $1",
            int(ident),
        )
        if row is None or not hmac.compare_digest(mac, _mac(self.secret, row["id"], row["nonce"])):
            raise NotFound("unknown_link", "no sign-in link is this one")
        if row["revoked_at"] is not None:
            raise Gone("link_revoked", "this sign-in link was closed; ask for a new one")
        if row["expired"]:
            raise Gone("link_expired", "this sign-in link has expired; ask for a new one")
        return row

    async def orders(self, link: str) -> dict[str, Any]:
        """Every shop order of the link's address, latest session first, each with its
        private order link."""
        async with connection(self.pool) as conn:
            row = await self._open(conn, link)
            orders = await conn.fetch(_ORDERS, row["email"], MAX_ORDERS)
        return {
            "email": row["email"],
            "expires_at": row["expires_at"].isoformat(),
            "orders": [self._order(o) for o in orders],
        }

    def _order(self, o: asyncpg.Record) -> dict[str, Any]:
        return {
            "id": o["id"],
            "link": order_link(self.secret, o["id"]),
            "status": o["status"],
            "tickets": o["tickets"],
            "total_cents": o["total_cents"],
            "currency": o["currency"],
            "created_at": o["created_at"].isoformat(),
            "products": o["products"],
            "session": None
            if o["event_name"] is None
            else {
                "id": o["session_id"],
                "event_name": o["event_name"],
                "starts_at": o["starts_at"].isoformat(),
                "ends_at": o["ends_at"].isoformat(),
                "room": o["room"],
            },
        }

    async def revoke(self, link: str) -> None:
        """Close a link before it expires (signing out); a closed one stays closed."""
        async with connection(self.pool) as conn, conn.transaction():
            row = await self._open(conn, link)
            await conn.execute(
                "UPDATE buyer_links SET revoked_at = now() WHERE id = $1 AND revoked_at IS NULL",
                row["id"],
            )


async def link_of_mail(conn: asyncpg.Connection, secret: bytes, link_id: int) -> str:
    """The sign-in link a mail carries (its ``buyer_link_id``), rebuilt with the secret."""
    nonce = await conn.fetchval("SELECT nonce FROM buyer_links WHERE id = $1", link_id)
    if nonce is None:
        raise NotFound("unknown_link", "no such sign-in link")
    return buyer_link(secret, link_id, nonce)


def compose_signin(sender: str, recipient: str, url: str) -> EmailMessage:
    """The sign-in mail: the link and how long it lasts, in French and English."""
    minutes = LINK_TTL_S // 60
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    message["Subject"] = "Vos billets : lien de connexion · Your tickets: sign-in link"
    message.set_content(
        "Pour voir toutes vos commandes, ouvrez ce lien (valable "
        f"{minutes} minutes) :\n{url}\n\n"
        f"To see all your orders, open this link (valid for {minutes} minutes):\n{url}\n\n"
        "Vous n'avez rien demandé ? Ignorez ce message. "
        "Did not ask for it? Ignore this message.\n"
    )
    return message
