"""Private links to an order: ``<order id>.<mac>``, signed with a secret of the server.

Nothing is stored: any process checks a link with the secret (derived from the token
secret shared through Postgres). The MAC is 144 bits, so a link cannot be guessed; a link
cannot be revoked short of changing the secret.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from server.platform.errors import Invalid, NotFound

LINK_PATTERN = r"^[0-9]{1,18}\.[A-Za-z0-9_-]{24}$"
_LINK = re.compile(LINK_PATTERN)


def link_secret(token_secret: bytes) -> bytes:
    return hashlib.sha256(b"guichet order link\n" + token_secret).digest()


def _mac(secret: bytes, order_id: int) -> str:
    digest = hmac.new(secret, f"order:{order_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def order_link(secret: bytes, order_id: int) -> str:
    return f"{order_id}.{_mac(secret, order_id)}"


def order_of(secret: bytes, link: str) -> int:
    """The order a link names: 400 ``invalid_link`` when malformed, 404 ``unknown_order``
    for any other link not ours."""
    if not _LINK.match(link):
        raise Invalid("invalid_link", "malformed order link")
    order, _, mac = link.partition(".")
    if hmac.compare_digest(mac, _mac(secret, int(order))):
        return int(order)
    raise NotFound("unknown_order", "no order has this link")
