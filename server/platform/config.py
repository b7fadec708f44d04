"""Configuration, read once from the environment (every variable is listed in the README)."""

from __future__ import annotations

import os
from dataclasses import dataclass


def _int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    return default if raw in (None, "") else int(raw)


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str
    redis_url: str
    hold_ttl_s: int
    hold_cap_s: int
    log_length: int
    batch_window_ms: int
    send_buffer_bytes: int
    db_pool_size: int
    sweep_interval_ms: int
    key_reload_s: int
    signin_user_limit: int = 5
    signin_address_limit: int = 30
    signin_window_s: int = 900
    payment_provider: str = "test"
    """``test`` (the built-in test provider) or ``none``: the shop sells without payment
    (the test suite's default; docs/payments.md)."""
    payment_window_s: int = 900
    """How long a pending order's hold stays claimed while its buyer pays."""
    refund_retry_s: int = 30
    """How often each process retries the provider refunds still due."""
    public_url: str = ""
    """The shop's address in e-mails and return URLs; empty: the request's own."""
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_from: str = "billets@guichet.invalid"
    export_dir: str = ".data/exports"
    """Where export jobs write their files (any process may write or serve any job's)."""
    export_lease_s: int = 30
    """How long a silent export worker keeps its job before another process takes it."""

    @classmethod
    def from_env(cls) -> Settings:
        database_url = os.environ.get("DATABASE_URL", "")
        redis_url = os.environ.get("REDIS_URL", "")
        if not database_url or not redis_url:
            raise RuntimeError(
                "DATABASE_URL and REDIS_URL must be set (`make run` sets them for you)"
            )
        return cls(
            database_url=database_url,
            redis_url=redis_url,
            hold_ttl_s=_int("GUICHET_HOLD_TTL", 600),
            hold_cap_s=_int("GUICHET_HOLD_CAP", 1800),
            log_length=_int("GUICHET_LOG_LENGTH", 1000),
            batch_window_ms=_int("GUICHET_BATCH_MS", 20),
            send_buffer_bytes=_int("GUICHET_SEND_BUFFER", 256 * 1024),
            db_pool_size=_int("GUICHET_DB_POOL", 20),
            sweep_interval_ms=_int("GUICHET_SWEEP_MS", 500),
            key_reload_s=_int("GUICHET_KEY_RELOAD_S", 30),
            signin_user_limit=_int("GUICHET_SIGNIN_USER_LIMIT", 5),
            signin_address_limit=_int("GUICHET_SIGNIN_ADDRESS_LIMIT", 30),
            signin_window_s=_int("GUICHET_SIGNIN_WINDOW_S", 900),
            payment_provider=os.environ.get("GUICHET_PAYMENT_PROVIDER") or "test",
            payment_window_s=_int("GUICHET_PAYMENT_WINDOW", 900),
            refund_retry_s=_int("GUICHET_REFUND_RETRY_S", 30),
            public_url=(os.environ.get("GUICHET_PUBLIC_URL") or "").rstrip("/"),
            smtp_host=os.environ.get("SMTP_HOST", ""),
            smtp_port=_int("SMTP_PORT", 25),
            smtp_from=os.environ.get("SMTP_FROM") or "billets@guichet.invalid",
            export_dir=os.environ.get("GUICHET_EXPORT_DIR") or ".data/exports",
            export_lease_s=_int("GUICHET_EXPORT_LEASE_S", 30),
        )
