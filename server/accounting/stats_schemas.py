"""The JSON shape of the statistics (``GET /api/stats`` and the ``stats`` frames). Amounts
are gross integer cents (tax included, refunds deducted) per currency; a session's figures
count under the weekday and hour of its start, in ``tz``."""

from __future__ import annotations

import msgspec

from server.web.api import Reply


class Figures(Reply):
    currency: str | None
    sessions: int
    capacity: int
    sold: int
    entered: int
    revenue_cents: int
    occupancy_pct: float | None
    attendance_pct: float | None


class Totals(Figures):
    started: int
    no_shows: int


class ByWeekday(Figures):
    weekday: int  # ISO: 1 is Monday


class ByHour(Figures):
    hour: int


class ByRoom(Figures):
    room_id: int
    room: str
    venue: str


class ByTariff(Reply):
    tariff: str
    currency: str
    sessions: int
    sold: int
    entered: int
    revenue_cents: int


class SessionFigures(Reply):
    session_id: int
    event: str
    starts_at: str
    room_id: int
    room: str
    venue: str
    currency: str | None
    capacity: int
    sold: int
    entered: int
    no_shows: int
    revenue_cents: int


class ChannelSales(Reply):
    at: str  # local time of the hour or day, in ``tz``, without offset
    channel: str
    currency: str
    lines: int
    tickets: int
    gross_cents: int


class SalesOverTime(Reply):
    unit: str
    rows: list[ChannelSales]


class Statistics(Reply):
    from_: str = msgspec.field(name="from")
    to: str
    tz: str
    totals: list[Totals]
    by_weekday: list[ByWeekday]
    by_hour: list[ByHour]
    by_tariff: list[ByTariff]
    by_room: list[ByRoom]
    top_by_entries: list[SessionFigures]
    top_by_revenue: list[SessionFigures]
    no_shows: list[SessionFigures]
    sales_over_time: SalesOverTime
