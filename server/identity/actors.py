"""The actor of a request, as the audit log records it."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from server.identity.auth import Principal
from server.platform.audit import Actor


def actor_of_principal(principal: Principal, address: str | None = None) -> Actor:
    """A user, a device (its tokens carry the negated device id) or an anonymous buyer."""
    uid = principal.user_id
    if uid is not None and uid < 0:
        return Actor(name=principal.username, device_id=-uid, address=address)
    return Actor(user_id=uid, name=principal.username, address=address)


def actor_of(conn: HTTPConnection) -> Actor:
    """The caller of an HTTP request or WebSocket connection."""
    address = conn.client.host if conn.client else None
    return actor_of_principal(conn.state.principal, address)
