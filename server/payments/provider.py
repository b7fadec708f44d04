"""The payment-provider contract (docs/payments.md): what Guichet asks of a provider.

One file per provider implements it (``test_provider.py`` is the built-in test provider);
the service (``service.py``) knows only this contract. Amounts are integer cents with an
ISO 4217 currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol


class Outcome(StrEnum):
    """What a provider says of a payment."""

    OPEN = "open"  # not decided yet: the buyer is still at the provider
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ABANDONED = "abandoned"  # the buyer gave up, or the provider let it expire


@dataclass(frozen=True, slots=True)
class Created:
    """A payment the provider created: its id there and where to send the buyer."""

    ref: str
    redirect_url: str


@dataclass(frozen=True, slots=True)
class Event:
    """A verified webhook: the provider's event id (for idempotency), its payment, what
    happened."""

    event_id: str
    payment_ref: str
    outcome: Outcome


class Provider(Protocol):
    name: str
    """Stable, lowercase; it names the webhook route ``/api/payments/{name}/webhook``."""

    async def create_payment(
        self,
        amount_cents: int,
        currency: str,
        reference: str,
        return_url: str,
        webhook_url: str,
    ) -> Created:
        """Create a payment of ``amount_cents`` for the order named ``reference``; the
        buyer comes back to ``return_url``; events go to ``webhook_url``. Raises
        ``Unavailable`` when the provider cannot be reached."""

    async def verify_webhook(self, headers: Mapping[str, str], body: bytes) -> Event:
        """Check a webhook's signature and read it; raises ``Invalid("bad_signature")``
        (nothing is changed) or ``Invalid("bad_event")``."""

    async def status(self, ref: str) -> Outcome:
        """Ask the provider about a payment (the buyer's return: the webhook may be late)."""

    async def refund(self, ref: str, amount_cents: int, currency: str, key: str) -> str:
        """Give ``amount_cents`` of a succeeded payment back (all of it, or a part: a
        ticket refunded at the back office); the provider's refund id. ``key`` is the same
        for every attempt of one refund, and the provider refunds once per key (Stripe's and
        Mollie's ``Idempotency-Key``): a retry after a lost answer never pays twice."""
