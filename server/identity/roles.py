"""The roles a user or a device can hold (the fifteen of the product documents)."""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    POS = "pos"
    ON_SITE = "on-site"
    PARTNER = "partner"
    OVERBOOKER = "overbooker"
    TRANSFER = "transfer"
    ACCRED = "accred"
    TICKET_EDITOR = "ticket_editor"
    REFUND = "refund"
    WALLET_CASHIER = "wallet_cashier"
    WALLET_MANAGER = "wallet_manager"
    ACCOUNTING = "accounting"
    ENTRY_CHECK = "entry_check"
    STATS = "stats"
    WAITER = "waiter"


ALL_ROLES = frozenset(r.value for r in Role)
