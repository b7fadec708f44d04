"""Permissions, and the fifteen roles as presets over them.

A role is a name a user is given (``pos``, ``refund``…); what it allows is its preset, a
set of permissions. Every HTTP operation, WebSocket channel and WebSocket message declares
the permission it needs next to its handler (``needs``: a permission, or a tuple of which
any one suffices); the checks compare that with the caller's permissions, the union of its
roles' presets. ``admin`` is the permission that holds every other one.

Who may grant a role is a rule too (``grantable``): an admin grants any role; anyone else
only roles whose permissions it holds all of itself, so nobody grants more than it has.

``docs/roles.md`` is generated from these tables and the declarations
(``python -m server.cli roles-doc > docs/roles.md``).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum
from functools import cache

from server.identity.roles import Role


class Permission(StrEnum):
    ADMIN = "admin"
    SELL = "sell"
    SELL_OVERBOOK = "sell.overbook"
    RESERVE = "reserve"
    REFUND_OWN_REGISTER = "refund.own_register"
    REFUND_ANY = "refund.any"
    TICKET_EDIT = "ticket.edit"
    TICKET_TRANSFER = "ticket.transfer"
    ACCRED_ACTIVATE = "accred.activate"
    WALLET_CREDIT = "wallet.credit"
    WALLET_DEBIT = "wallet.debit"
    BAR_SELL = "bar.sell"
    ACCOUNTING_READ = "accounting.read"
    STATS_READ = "stats.read"
    DOOR_SCAN = "door.scan"
    DOOR_MANAGE = "door.manage"
    DOOR_RELEASE = "door.release"
    CATALOG_MANAGE = "catalog.manage"
    USERS_MANAGE = "users.manage"
    DEVICES_MANAGE = "devices.manage"
    KEYS_MANAGE = "keys.manage"
    REGISTERS_MANAGE = "registers.manage"


ALL_PERMISSIONS = frozenset(Permission)

Needs = Permission | tuple[Permission, ...]
"""What an operation, channel or message needs: a permission, or permissions any one of
which suffices."""

MEANING: Mapping[Permission, str] = {
    Permission.ADMIN: "everything: holds every other permission",
    Permission.SELL: "sell at the cash desk (orders are `pos` sales), fetch any ticket's "
    "code, create passes and fetch their codes; open, work and close one's register session; "
    "sell articles and watch their stock; sell passes, find them and book sessions on them",
    Permission.SELL_OVERBOOK: "sell blocked seats, or places past a full session's capacity, "
    "at a register (`overbook: true` on an order)",
    Permission.RESERVE: "book unpaid reservations (`reservation: true` on an order)",
    Permission.REFUND_OWN_REGISTER: "refund the journalled sales of the register one works at "
    "(and, by ticket, tickets of the orders one booked)",
    Permission.REFUND_ANY: "refund any ticket or journalled sale",
    Permission.TICKET_EDIT: "change a ticket's data (no route yet)",
    Permission.TICKET_TRANSFER: "move a ticket to another session or seat (no route yet)",
    Permission.ACCRED_ACTIVATE: "activate accreditations (no route yet)",
    Permission.WALLET_CREDIT: "top up cashless wallets at one's open register session",
    Permission.WALLET_DEBIT: "debit cashless wallets at a bar, online or uploaded from offline",
    Permission.BAR_SELL: "sell at a bar or restaurant point of sale (debit wallets there)",
    Permission.ACCOUNTING_READ: "read the money: sales, register and accounting statements and"
    " their exports, wallet overdrafts and settlement",
    Permission.STATS_READ: "read statistics: door counters and the door channel (dashboards)",
    Permission.DOOR_SCAN: "scan at a door (online, offline uploads, the offline bundle, door "
    "settings, counters, the door channel) and read passes",
    Permission.DOOR_MANAGE: "change a session's door settings, review conflicting offline scans",
    Permission.DOOR_RELEASE: "release reservations nobody scanned in",
    Permission.CATALOG_MANAGE: "venues, rooms, seat plans, sessions, tariffs, blocked seats, "
    "articles and their stock, pass types",
    Permission.USERS_MANAGE: "create users, reset their passwords and roles, void their tokens",
    Permission.DEVICES_MANAGE: "scanner devices: create, enrolment codes, revoke, list",
    Permission.KEYS_MANAGE: "the ticket-signing keys: list, rotate, retire",
    Permission.REGISTERS_MANAGE: "create registers, read every register session and its "
    "expected cash, close any cashier's session",
}

PRESETS: Mapping[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset({Permission.ADMIN}),
    Role.POS: frozenset({Permission.SELL, Permission.RESERVE}),
    Role.ON_SITE: frozenset({Permission.SELL}),
    Role.PARTNER: frozenset({Permission.SELL}),
    Role.OVERBOOKER: frozenset({Permission.SELL_OVERBOOK}),
    Role.TRANSFER: frozenset({Permission.TICKET_TRANSFER}),
    Role.ACCRED: frozenset({Permission.ACCRED_ACTIVATE}),
    Role.TICKET_EDITOR: frozenset({Permission.TICKET_EDIT}),
    Role.REFUND: frozenset({Permission.REFUND_OWN_REGISTER}),
    Role.WALLET_CASHIER: frozenset({Permission.WALLET_DEBIT}),
    Role.WALLET_MANAGER: frozenset({Permission.WALLET_CREDIT}),
    Role.ACCOUNTING: frozenset({Permission.ACCOUNTING_READ}),
    Role.ENTRY_CHECK: frozenset({Permission.DOOR_SCAN}),
    Role.STATS: frozenset({Permission.STATS_READ}),
    Role.WAITER: frozenset({Permission.BAR_SELL}),
}
"""What each role allows. Roles add up: a user's permissions are the union of its roles'."""

ROLE_MEANING: Mapping[Role, str] = {
    Role.ADMIN: "organiser: full access",
    Role.POS: "cashier at a point of sale: sells and books reservations",
    Role.ON_SITE: "cashier of the on-site team (with `pos`)",
    Role.PARTNER: "cashier of a partner's team (with `pos`)",
    Role.OVERBOOKER: "cashier who may overbook (with `pos`)",
    Role.TRANSFER: "moves tickets",
    Role.ACCRED: "activates accreditations",
    Role.TICKET_EDITOR: "changes a ticket's data",
    Role.REFUND: "refunds the sales of their own register",
    Role.WALLET_CASHIER: "debits cashless wallets outside a point of sale",
    Role.WALLET_MANAGER: "credits cashless wallets",
    Role.ACCOUNTING: "reads accounting data",
    Role.ENTRY_CHECK: "door staff and scanner devices",
    Role.STATS: "reads statistics and the door dashboards",
    Role.WAITER: "bar and restaurant sales",
}


def expand(permissions: Iterable[Permission]) -> frozenset[Permission]:
    """``permissions`` with ``admin`` standing for every permission."""
    held = frozenset(permissions)
    return ALL_PERMISSIONS if Permission.ADMIN in held else held


@cache
def permissions_of(roles: frozenset[str]) -> frozenset[Permission]:
    """The union of the roles' presets (``admin`` expanded); unknown role names add nothing."""
    held: set[Permission] = set()
    for role in roles:
        if role in PRESETS:
            held |= PRESETS[Role(role)]
    return expand(held)


def grantable(granter: Iterable[Permission], roles: Iterable[str]) -> bool:
    """May someone holding ``granter`` give ``roles``? An admin gives any role; anyone else
    only roles whose permissions it holds all of itself (so never more than it has)."""
    held = expand(granter)
    return Permission.ADMIN in held or permissions_of(frozenset(roles)) <= held


def any_of(needs: str | tuple[str, ...]) -> tuple[Permission, ...]:
    """A declaration's permissions (any one suffices); an unknown name or an empty tuple is
    a programming error (``ValueError``), found when the declaration is read at start-up."""
    names = (needs,) if isinstance(needs, str) else needs
    if not names:
        raise ValueError("a declaration needs at least one permission (or PUBLIC)")
    return tuple(Permission(name) for name in names)
