"""What a statement is asked for: a period (required, at most a year) and filters, read
from the query string and bounded before any SQL runs."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import asyncpg
from starlette.requests import Request

from server.platform.errors import Invalid
from server.web.api import Id, Param
from server.web.requests import id_of, parse_time

MAX_DAYS = 366
CHANNELS = ("desk", "bar", "eshop", "off_register")
METHODS = ("cash", "card", "wallet", "online")
Channel = Literal["desk", "bar", "eshop", "off_register"]
Method = Literal["cash", "card", "wallet", "online"]
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ZONE = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+){0,2}$")

PERIOD = (
    Param(
        "from",
        str,
        required=True,
        description="start, inclusive: a day (`2025-07-01`, midnight in `tz`) or an ISO 8601"
        " time with its offset",
    ),
    Param(
        "to",
        str,
        required=True,
        description="end: a day (`2025-07-31`, included whole) or an ISO 8601 time with its"
        f" offset (excluded); at most {MAX_DAYS} days after `from`",
    ),
    Param("tz", str, description="IANA time zone of days and spreadsheet times (`UTC`)"),
)
FILTERS = (
    Param("channel", Channel, description="`desk`, `bar`, `eshop` or `off_register`"),
    Param("point_of_sale_id", Id, description="one point of sale"),
    Param("register_id", Id, description="one register"),
    Param("cashier_id", Id, description="one cashier (user id)"),
    Param("session_id", Id, description="one session (ticket lines of it)"),
    Param("method", Method, description="entries with a payment of this method"),
)
PERIOD_ERRORS = ("invalid_period", "period_too_long")
CUSTOM_PLANS = "SET LOCAL plan_cache_mode = force_custom_plan; SET LOCAL jit = off"
"""For the transaction of every statement over a period: Postgres plans it for its
parameters every time (after five runs of a prepared statement it may keep a generic plan
instead, blind to the period's length and to which filters are NULL, that reads every
ticket to list one day's), and without JIT (compiling the statement's many expressions
takes about a second, more than it saves even on a million lines)."""


@asynccontextmanager
async def planned(conn: asyncpg.Connection) -> AsyncIterator[None]:
    """A read-only transaction whose statements get ``CUSTOM_PLANS``."""
    async with conn.transaction(readonly=True):
        await conn.execute(CUSTOM_PLANS)
        yield


@dataclass(frozen=True, slots=True)
class Period:
    start: datetime
    end: datetime
    zone: ZoneInfo

    @property
    def tz(self) -> str:
        return self.zone.key


@dataclass(frozen=True, slots=True)
class Filters:
    period: Period
    channel: str | None = None
    point_of_sale_id: int | None = None
    register_id: int | None = None
    cashier_id: int | None = None
    session_id: int | None = None
    method: str | None = None

    def args(self) -> list[object]:
        """The arguments $1…$8 of the statement queries, in this order."""
        p = self.period
        return [
            p.start,
            p.end,
            self.channel,
            self.point_of_sale_id,
            self.register_id,
            self.cashier_id,
            self.session_id,
            self.method,
        ]


def zone(request: Request) -> ZoneInfo:
    return _zone(request.query_params)


def _zone(params: Mapping[str, str]) -> ZoneInfo:
    raw = params.get("tz") or "UTC"
    if len(raw) > 64 or not _ZONE.match(raw):
        raise Invalid("invalid_field", "'tz' is an IANA time zone (Europe/Paris)", field="tz")
    try:
        return ZoneInfo(raw)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise Invalid("invalid_field", f"unknown time zone {raw!r}", field="tz") from exc


def _bound(params: Mapping[str, str], name: str, tz: ZoneInfo, end: bool) -> datetime:
    raw = params.get(name)
    if not raw:
        raise Invalid("invalid_field", f"'{name}' is required", field=name)
    if len(raw) > 64:
        raise Invalid("invalid_field", f"'{name}' is a day or an ISO 8601 time", field=name)
    if _DATE.match(raw):
        try:
            day = date.fromisoformat(raw)
        except ValueError as exc:
            raise Invalid("invalid_field", f"'{name}' is not a day", field=name) from exc
        if end:
            if day == date.max:
                raise Invalid("invalid_field", f"'{name}' is out of range", field=name)
            day += timedelta(days=1)
        return datetime.combine(day, time(), tz)
    return parse_time(raw, name)


def period(request: Request) -> Period:
    return period_of(request.query_params)


def period_of(params: Mapping[str, str]) -> Period:
    """``from`` and ``to`` (required), ``to`` after ``from`` (400 ``invalid_period``) and
    at most a year after it (400 ``period_too_long``); ``tz`` (``UTC``)."""
    tz = _zone(params)
    start, end = _bound(params, "from", tz, False), _bound(params, "to", tz, True)
    if end <= start:
        raise Invalid("invalid_period", "'to' must come after 'from'")
    if end - start > timedelta(days=MAX_DAYS):
        raise Invalid("period_too_long", f"a statement covers at most {MAX_DAYS} days")
    if start.year < 1900 or end.year > 9000:
        raise Invalid("invalid_period", "the period is out of range")
    return Period(start, end, tz)


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str | None:
    raw = params.get(name) or None
    if raw is not None and raw not in allowed:
        raise Invalid("invalid_field", f"'{name}' is one of {', '.join(allowed)}", field=name)
    return raw


def filters(request: Request) -> Filters:
    return filters_of(request.query_params)


def filters_of(params: Mapping[str, str]) -> Filters:
    """The period and the filters of query parameters (or of an export job's)."""
    return Filters(
        period_of(params),
        channel=_choice(params, "channel", CHANNELS),
        point_of_sale_id=id_of(params, "point_of_sale_id", required=False),
        register_id=id_of(params, "register_id", required=False),
        cashier_id=id_of(params, "cashier_id", required=False),
        session_id=id_of(params, "session_id", required=False),
        method=_choice(params, "method", METHODS),
    )
