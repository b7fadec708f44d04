"""Domain errors: a refusal with a stable machine-readable code, a message and details.

Services raise these; only the edges say them in their own terms (the HTTP edge maps each
kind to a status in ``server.web.errors``, the WebSocket endpoint to an error frame).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """A refusal; ``code`` is stable (documented), ``message`` is for people."""

    def __init__(self, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message, **self.details}}


class Invalid(DomainError):
    """The input is malformed or out of range; nothing was changed."""


class TooLarge(Invalid):
    """The input is larger than its bound."""


class Mismatch(Invalid):
    """A retry (same idempotency key or nonce) that differs from the first request."""


class Unauthenticated(DomainError):
    """No valid credentials (missing, invalid, expired or revoked token, bad password)."""


class Forbidden(DomainError):
    """Valid credentials that lack the permission."""


class NotFound(DomainError):
    """The thing does not exist."""

    @classmethod
    def of(cls, what: str) -> NotFound:
        return cls("not_found", f"{what} not found")


class Conflict(DomainError):
    """The request is valid but the current state refuses it (taken, already done…)."""


class Gone(DomainError):
    """The thing existed but has expired."""


class Unavailable(DomainError):
    """A service this needs (Redis, Postgres) is down; retry later."""


class RateLimited(DomainError):
    """Too many attempts; ``retry_after`` (seconds) says when to try again."""
