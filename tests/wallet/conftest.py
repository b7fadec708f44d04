"""The wallet API tests' common set-up: a pass to carry a wallet, a desk register with an
open session, a bar, a wallet manager and a bar steward."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.cash.helpers import cashier, new_register, open_session
from tests.support import Api, ServerProcess
from tests.wallet.helpers import new_bar, pass_code


@dataclass(frozen=True, slots=True)
class WalletDesk:
    code: str  # a pass's code: its wallet's key
    register: int  # a desk register, where ``manager`` has the open session ``rs``
    rs: int
    bar: int  # a bar's register
    manager: Api  # roles pos and wallet_manager
    waiter: Api  # the bar's steward: role ``waiter`` (or the test's parameter)


@pytest.fixture
async def wallet_desk(
    request: pytest.FixtureRequest, server: ServerProcess, admin: Api
) -> AsyncIterator[WalletDesk]:
    """``@pytest.mark.parametrize("wallet_desk", ["wallet_cashier"], indirect=True)`` gives
    the steward another role."""
    _, code = await pass_code(admin)
    register = await new_register(admin)
    _, bar = await new_bar(admin)
    manager = await cashier(admin, server, "pos", "wallet_manager")
    waiter = await cashier(admin, server, getattr(request, "param", "waiter"))
    try:
        rs = await open_session(manager, register)
        yield WalletDesk(code, register, rs, bar, manager, waiter)
    finally:
        await manager.close()
        await waiter.close()
