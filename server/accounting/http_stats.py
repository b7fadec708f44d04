"""The statistics over HTTP: one JSON document with every section (``stats.read``; the
role ``stats``, admins hold every permission). The same figures go live on ``stats:0``
(``server/accounting/feed.py``)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.accounting import stats
from server.accounting.period import PERIOD, PERIOD_ERRORS, period
from server.accounting.stats_schemas import Statistics
from server.identity.permissions import Permission
from server.platform.db import connection
from server.web.api import Operations

OPERATIONS = Operations()


@OPERATIONS.get(
    "/api/stats",
    tags=("statistics",),
    permission=Permission.STATS_READ,
    params=PERIOD,
    responses={200: Statistics},
    errors={400: PERIOD_ERRORS},
)
async def statistics(request: Request) -> JSONResponse:
    """Entries, places sold and ticket revenue of the sessions starting in the period, by
    weekday and hour of their start (in `tz`), by tariff and by room (occupancy), the top
    sessions by entries and by revenue, the no-shows of the sessions that have started;
    and the sales paid in the period per channel, per hour (periods of three days or
    less) or per day."""
    p = period(request)
    async with connection(request.app.state.pool) as conn:
        return JSONResponse(await stats.statistics(conn, p))
