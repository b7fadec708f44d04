"""The day of trade every statement test reads (made once for the package)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.accounting.helpers import Trade, trade
from tests.support import Api, ServerProcess


@pytest.fixture(scope="package")
async def day(server: ServerProcess, admin_token: str) -> AsyncIterator[Trade]:
    admin = Api(server.url, admin_token)
    try:
        yield await trade(admin, server)
    finally:
        await admin.close()
