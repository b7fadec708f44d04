"""The order confirmation e-mail (and a buyer's sign-in link, ``server.payments.buyers``),
sent off the request path through SMTP.

A row of ``mails`` is written in the transaction that confirms the order (an outbox): the
mail worker of any process takes the due rows (``FOR UPDATE SKIP LOCKED``), sends each with
the order's private link and its tickets as a PDF, and records the outcome; a failure is
retried with a growing delay, up to ``MAX_ATTEMPTS``. Without ``SMTP_HOST`` the mails are
marked ``skipped`` and logged: nothing crashes, nothing is sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import asyncpg

from server.payments.buyers import compose_signin, link_of_mail
from server.payments.links import order_link
from server.payments.orders import OrderView
from server.platform.db import connection
from server.platform.errors import DomainError

log = logging.getLogger(__name__)

KIND = "order_confirmation"
MAX_ATTEMPTS = 8
SEND_TIMEOUT_S = 20.0
BATCH = 10


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    host: str
    port: int
    sender: str


async def enqueue(conn: asyncpg.Connection, order_id: int, site_url: str) -> bool:
    """Make the confirmation of a confirmed order due, once, if its buyer gave an e-mail
    address (in the caller's transaction); whether a mail was made due."""
    made = await conn.fetchval(
        "INSERT INTO mails (order_id, kind, recipient, site_url)"
        " SELECT id, $2, buyer_email, $3 FROM orders"
        " WHERE id = $1 AND status = 'confirmed' AND coalesce(buyer_email, '') <> ''"
        " ON CONFLICT (order_id, kind) DO NOTHING RETURNING id",
        order_id,
        KIND,
        site_url,
    )
    return made is not None


def compose(
    sender: str, recipient: str, view: dict[str, object], link: str, pdf: bytes | None
) -> EmailMessage:
    session = view["session"]
    tickets = view["tickets"]
    assert isinstance(tickets, list)
    message = EmailMessage()
    message["From"] = sender
    message["To"] = recipient
    if isinstance(session, dict):
        message["Subject"] = f"Vos billets · Your tickets - {session['event_name']}"
        when = str(session["starts_at"])[:16].replace("T", " ")
        head = f"{session['event_name']} — {when} — {session['room']}"
    else:  # a cart of passes and articles only
        message["Subject"] = f"Votre commande · Your order {view['id']}"
        head = f"Commande · Order {view['id']}"
    message.set_content(
        f"{head}\n\n"
        f"Merci pour votre commande n° {view['id']} ({len(tickets)} billet(s)).\n"
        f"Vos billets sont joints en PDF et restent sur cette page privée :\n{link}\n\n"
        f"Thank you for order no. {view['id']} ({len(tickets)} ticket(s)).\n"
        f"Your tickets are attached as a PDF and stay on this private page:\n{link}\n\n"
        "Ne partagez pas ce lien : il donne accès aux billets. "
        "Do not share this link: it opens the tickets.\n"
    )
    if pdf is not None:
        message.add_attachment(
            pdf, maintype="application", subtype="pdf", filename=f"tickets-{view['id']}.pdf"
        )
    return message


class Mailer:
    def __init__(
        self, pool: asyncpg.Pool, view: OrderView, link_secret: bytes, smtp: SmtpSettings | None
    ) -> None:
        self.pool = pool
        self.view = view
        self.link_secret = link_secret
        self.smtp = smtp
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """A mail was made due: send it now rather than at the next round."""
        self._wake.set()

    async def run(self, interval_s: float = 5.0) -> None:
        while True:
            try:
                while await self.send_due():
                    pass
            except (DomainError, OSError) as exc:
                log.warning("mail worker: %s", exc)
            except Exception:
                log.exception("mail worker round failed")
            self._wake.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), interval_s)

    async def send_due(self) -> int:
        """Send (or skip) the due mails of one batch; how many were handled."""
        async with connection(self.pool) as conn, conn.transaction():
            rows = await conn.fetch(
                "SELECT id, kind, order_id, buyer_link_id, recipient, site_url, attempts FROM mails"
                " WHERE status = 'pending' AND next_attempt_at <= now()"
                " ORDER BY id LIMIT $1 FOR UPDATE SKIP LOCKED",
                BATCH,
            )
            for row in rows:
                await self._send(conn, row)
        return len(rows)

    async def _compose(
        self, conn: asyncpg.Connection, row: asyncpg.Record, sender: str
    ) -> EmailMessage:
        """An order's confirmation, or a buyer's sign-in link ("My tickets")."""
        if row["buyer_link_id"] is not None:
            link = await link_of_mail(conn, self.link_secret, row["buyer_link_id"])
            url = f"{row['site_url']}/my-tickets.html#{link}"
            return compose_signin(sender, row["recipient"], url)
        view = await self.view.view(row["order_id"])
        pdf = await self.view.pdf(row["order_id"]) if view["tickets"] else None
        link = f"{row['site_url']}/order.html#{order_link(self.link_secret, row['order_id'])}"
        return compose(sender, row["recipient"], view, link, pdf)

    async def _send(self, conn: asyncpg.Connection, row: asyncpg.Record) -> None:
        if self.smtp is None:
            log.info("mail %s to %s skipped: SMTP_HOST is not set", row["id"], row["recipient"])
            await conn.execute("UPDATE mails SET status = 'skipped' WHERE id = $1", row["id"])
            return
        try:
            message = await self._compose(conn, row, self.smtp.sender)
            await aiosmtplib.send(
                message, hostname=self.smtp.host, port=self.smtp.port, timeout=SEND_TIMEOUT_S
            )
        except (aiosmtplib.SMTPException, OSError, DomainError, TimeoutError) as exc:
            attempts = row["attempts"] + 1
            log.warning("mail %s failed (attempt %s): %s", row["id"], attempts, exc)
            await conn.execute(
                "UPDATE mails SET attempts = $2, last_error = $3,"
                " status = CASE WHEN $2 >= $4 THEN 'failed' ELSE 'pending' END,"
                " next_attempt_at = now() + make_interval(secs => 15 * 2 ^ $2) WHERE id = $1",
                row["id"],
                attempts,
                str(exc)[:500],
                MAX_ATTEMPTS,
            )
            return
        await conn.execute(
            "UPDATE mails SET status = 'sent', sent_at = now(), attempts = attempts + 1"
            " WHERE id = $1",
            row["id"],
        )
