"""Who is calling: a bearer token (devices, API clients) or a staff page's session cookie.

A cookie is sent by the browser whoever asks, so it is trusted for a state-changing request
(any method but GET, HEAD, OPTIONS) only with the session's CSRF token in ``X-CSRF-Token``:
without the header the request is anonymous (a public operation still works, as for any
buyer; a protected one says ``csrf_required``), and a wrong header is refused at once
(403 ``csrf_failed``). A stale cookie (expired, signed out, revoked) makes the caller
anonymous too, so the public shop keeps working for a member of staff whose session ended;
a protected operation then answers with why (``token_expired``, ``token_revoked``…), and so
does any state-changing request that carries a CSRF header (a staff page's), public or not,
except signing in again.
For WebSockets the cookie counts only when the handshake comes from the server's own origin.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from urllib.parse import urlsplit

from starlette.requests import HTTPConnection
from starlette.types import Scope

from server.identity.auth import ANONYMOUS, Principal, TokenSigner
from server.identity.signin import COOKIE
from server.platform.errors import DomainError, Forbidden, Unauthenticated

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
CSRF_HEADER = "x-csrf-token"
SIGN_IN_PATHS = frozenset({"/api/auth/session", "/api/auth/login"})
"""Where a stale cookie never stands in the way: signing in replaces it."""


@dataclass(frozen=True, slots=True)
class Credentials:
    principal: Principal
    problem: DomainError | None = None
    """Why a caller that sent credentials is anonymous all the same (said by a protected
    operation instead of ``authentication_required``)."""


def _bearer(conn: HTTPConnection, signer: TokenSigner) -> Principal:
    scheme, _, token = conn.headers["authorization"].partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise Unauthenticated("invalid_token", "use 'Authorization: Bearer <token>'")
    return signer.verify(token.strip())


def credentials_of(conn: HTTPConnection, signer: TokenSigner, method: str) -> Credentials:
    """The caller of an HTTP request; raises on a bad bearer token or a wrong CSRF token."""
    if "authorization" in conn.headers:
        return Credentials(_bearer(conn, signer))
    cookie = conn.cookies.get(COOKIE)
    if not cookie:
        return Credentials(ANONYMOUS)
    try:
        principal = signer.verify(cookie)
    except DomainError as exc:
        acting = CSRF_HEADER in conn.headers and method not in SAFE_METHODS
        if acting and conn.url.path not in SIGN_IN_PATHS:
            # A staff page acting (it sends its CSRF token) on a session that ended: say
            # so, rather than carry on as a buyer (a desk sale made a web one).
            raise
        return Credentials(ANONYMOUS, exc)
    if method in SAFE_METHODS or principal.session_id is None:
        return Credentials(principal)
    sent = conn.headers.get(CSRF_HEADER)
    if sent is None:
        return Credentials(
            ANONYMOUS,
            Forbidden("csrf_required", f"send the session's CSRF token in {CSRF_HEADER}"),
        )
    if not hmac.compare_digest(sent.encode(), signer.csrf_token(principal.session_id).encode()):
        raise Forbidden("csrf_failed", "the CSRF token does not match this session")
    return Credentials(principal)


def session_cookie(scope: Scope) -> str | None:
    """The staff session cookie of a WebSocket handshake from the server's own origin."""
    conn = HTTPConnection(scope)
    origin, host = conn.headers.get("origin"), conn.headers.get("host")
    if not origin or not host or urlsplit(origin).netloc != host:
        return None
    return conn.cookies.get(COOKIE)
