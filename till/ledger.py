"""The wallet's ledger, pure: which accounts each kind of transaction moves money between,
and the offline allowance a bar device carries (docs/wallet.md).

A transaction moves a positive amount of one currency from one account to another, so the
balances of all accounts add up to zero whatever happens. Only a wallet's balance is
guarded: an online debit that would take it below zero is refused. An offline debit,
already served at the bar, is applied anyway and its overdraft reported.

:class:`Ledger` is the reference model of those rules (the property test drives the real
ledger and this model with the same operations and compares them).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from enum import StrEnum


class AccountKind(StrEnum):
    WALLET = "wallet"
    CASH = "cash"  # top-ups paid in cash (negative: what the festival received)
    CARD = "card"  # top-ups paid by card
    BAR = "bar"  # what a bar sold against wallets (one account per point of sale)
    DESK = "desk"  # what a cash desk sold against wallets (one account per point of sale)
    PAYOUT = "payout"  # balances refunded to their holders after the festival
    DONATION = "donation"  # balances their holders gave away
    BREAKAGE = "breakage"  # balances unclaimed after the deadline
    CORRECTION = "correction"  # an admin's corrections, either way


class TxKind(StrEnum):
    TOPUP = "topup"
    DEBIT = "debit"
    SALE = "sale"  # a desk sale paid from a wallet
    REFUND = "refund"  # a refund of such a sale, back to the wallet
    REVERSAL = "reversal"
    PAYOUT = "payout"
    DONATION = "donation"
    BREAKAGE = "breakage"
    CORRECTION = "correction"


_WALLET = frozenset({AccountKind.WALLET})
ROUTES: Mapping[TxKind, tuple[frozenset[AccountKind], frozenset[AccountKind]]] = {
    TxKind.TOPUP: (frozenset({AccountKind.CASH, AccountKind.CARD}), _WALLET),
    TxKind.DEBIT: (_WALLET, frozenset({AccountKind.BAR})),
    TxKind.SALE: (_WALLET, frozenset({AccountKind.DESK})),
    TxKind.REFUND: (frozenset({AccountKind.DESK}), _WALLET),
    TxKind.PAYOUT: (_WALLET, frozenset({AccountKind.PAYOUT})),
    TxKind.DONATION: (_WALLET, frozenset({AccountKind.DONATION})),
    TxKind.BREAKAGE: (_WALLET, frozenset({AccountKind.BREAKAGE})),
    TxKind.CORRECTION: (
        _WALLET | {AccountKind.CORRECTION},
        _WALLET | {AccountKind.CORRECTION},
    ),
}
"""From which kinds of account to which each kind of transaction moves money; a reversal
moves the reversed transaction's amount back."""


class LedgerError(ValueError):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def check_route(kind: TxKind, source: AccountKind, target: AccountKind) -> None:
    """Refuse a transaction between accounts its kind does not move money between."""
    if kind is TxKind.REVERSAL:
        return
    sources, targets = ROUTES[kind]
    if source not in sources or target not in targets or source == target:
        raise LedgerError("bad_route", f"a {kind} does not move money from {source} to {target}")


@dataclass(slots=True)
class Ledger:
    """The ledger's rules over in-memory balances (the reference model)."""

    kinds: dict[str, AccountKind] = field(default_factory=dict)
    balances: dict[str, int] = field(default_factory=dict)
    moves: dict[str, tuple[str, str, int]] = field(default_factory=dict)
    reversed: set[str] = field(default_factory=set)
    reversals: set[str] = field(default_factory=set)

    def open(self, name: str, kind: AccountKind) -> None:
        self.kinds.setdefault(name, kind)
        self.balances.setdefault(name, 0)

    def move(
        self, key: str, kind: TxKind, source: str, target: str, amount: int, guarded: bool = True
    ) -> bool:
        """Apply a transaction once per key; False when the guard refuses it."""
        if amount <= 0:
            raise LedgerError("invalid_amount", "an amount is positive")
        if key in self.moves:
            return True
        check_route(kind, self.kinds[source], self.kinds[target])
        if guarded and self.kinds[source] is AccountKind.WALLET and self.balances[source] < amount:
            return False
        self.balances[source] -= amount
        self.balances[target] += amount
        self.moves[key] = (source, target, amount)
        return True

    def reverse(self, key: str, of: str) -> bool:
        """Move ``of``'s amount back, at most once; False when that would overdraw a wallet,
        ``of`` is already reversed or is itself a reversal (correct it instead)."""
        if of in self.reversed or of not in self.moves or of in self.reversals:
            return False
        source, target, amount = self.moves[of]
        if self.kinds[target] is AccountKind.WALLET and self.balances[target] < amount:
            return False
        self.reversed.add(of)
        self.reversals.add(key)
        return self.move(key, TxKind.REVERSAL, target, source, amount)


# -- offline allowances ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Allowance:
    """What a bar device may debit from one wallet while offline: at most
    ``per_wallet_cents`` per wallet over any ``period_s``, until ``expires_at``."""

    user_id: int
    device: str
    point_of_sale_id: int
    currency: str
    per_wallet_cents: int
    period_s: int
    issued_at: int
    expires_at: int


def sign_allowance(secret: bytes, allowance: Allowance) -> str:
    """``<payload>.<mac>``, both base64url: the device keeps it and uploads it back."""
    payload = json.dumps(asdict(allowance), sort_keys=True, separators=(",", ":")).encode()
    mac = hmac.new(secret, b"allowance\n" + payload, hashlib.sha256).digest()
    return f"{_b64(payload)}.{_b64(mac)}"


def read_allowance(secret: bytes, token: str) -> Allowance:
    """The allowance ``token`` carries, once its MAC checks (``LedgerError`` otherwise)."""
    try:
        head, tail = token.split(".")
        payload, mac = _unb64(head), _unb64(tail)
    except ValueError:
        raise LedgerError("invalid_allowance", "not an allowance") from None
    good = hmac.new(secret, b"allowance\n" + payload, hashlib.sha256).digest()
    if not hmac.compare_digest(mac, good):
        raise LedgerError("invalid_allowance", "the allowance's signature does not match")
    try:
        return Allowance(**json.loads(payload))
    except (TypeError, ValueError):
        raise LedgerError("invalid_allowance", "not an allowance") from None


def beyond_allowance(
    allowance: Allowance, earlier: list[tuple[int, int]], taken_at: int, amount: int
) -> bool:
    """Whether an offline debit of ``amount`` at ``taken_at`` (unix seconds) passes the
    allowance, given the ``earlier`` offline debits (time, amount) of the same wallet by
    the same device: outside its validity, or over the amount of the period before it."""
    if not allowance.issued_at <= taken_at <= allowance.expires_at:
        return True
    since = taken_at - allowance.period_s
    spent = sum(a for t, a in earlier if since < t <= taken_at)
    return spent + amount > allowance.per_wallet_cents


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
