"""The JSON shapes of the catalogue's requests and replies: venues, rooms, seat plans,
sessions, tariffs (msgspec models; ``/openapi.json`` carries their JSON Schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from seatmap.plan import (
    COLOR_RE,
    MAX_CANVAS,
    MAX_CATEGORY_NAME,
    MAX_PLAN_NAME,
    MAX_ROW_LABEL,
    MAX_SEAT_LABEL,
    MAX_ZONE_NAME,
    SEAT_ID_RE,
)
from server.web.api import Count, Id, Reply, Text, Timestamp, whole

SeatId = Annotated[str, Meta(pattern=whole(SEAT_ID_RE.pattern), description="a seat's id")]
Currency = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217")]
SeatIds = Annotated[list[SeatId], Meta(max_length=10_000)]

# -- seat plans: the guichet.seatplan/1 document (docs/seatplan-format.md) -------------------

_CONTROL = "\\u0000-\\u001f\\u007f-\\u009f"
LABEL = f"^[^{_CONTROL}]*[^\\s{_CONTROL}][^{_CONTROL}]*$"
"""Display text of a plan: not blank, no control character."""
PlanName = Annotated[str, Meta(min_length=1, max_length=MAX_PLAN_NAME, pattern=LABEL)]
ZoneName = Annotated[str, Meta(min_length=1, max_length=MAX_ZONE_NAME, pattern=LABEL)]
CategoryName = Annotated[str, Meta(min_length=1, max_length=MAX_CATEGORY_NAME, pattern=LABEL)]
RowLabel = Annotated[str, Meta(min_length=1, max_length=MAX_ROW_LABEL, pattern=LABEL)]
SeatLabel = Annotated[str, Meta(min_length=1, max_length=MAX_SEAT_LABEL, pattern=LABEL)]
Coordinate = Annotated[float, Meta(ge=0, le=MAX_CANVAS)]


class Plan(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Closed: a plan document with an unknown field is refused (``unknown_field``)."""


class PlanSize(Plan):
    width: Annotated[float, Meta(gt=0, le=MAX_CANVAS)]
    height: Annotated[float, Meta(gt=0, le=MAX_CANVAS)]


class PlanCategory(Plan):
    name: CategoryName
    color: Annotated[str, Meta(pattern=whole(COLOR_RE.pattern), description="#rrggbb")]


class PlanSeat(Plan):
    id: SeatId
    label: SeatLabel
    x: Coordinate
    y: Coordinate
    category: str
    """The name of one of the plan's categories."""
    accessible: bool = False


class PlanRow(Plan):
    label: RowLabel
    seats: list[PlanSeat]


class PlanZone(Plan):
    name: ZoneName
    rows: list[PlanRow]


class SeatPlanDocument(Plan):
    """A seat plan (``guichet.seatplan/1``, docs/seatplan-format.md): seats are numbered in
    document order; ids are unique; positions lie on the canvas; at most 100,000 seats."""

    format: Literal["guichet.seatplan/1"]
    name: PlanName
    size: PlanSize
    categories: list[PlanCategory]
    zones: list[PlanZone]


class PlanImported(Reply):
    """The new plan version; `moved_sessions` moved onto it."""

    id: int
    room_id: int
    name: str
    seat_count: int
    moved_sessions: list[int]


# -- venues and rooms ------------------------------------------------------------------------


class NameIn(msgspec.Struct, kw_only=True):
    name: Text


class Venue(Reply):
    id: int
    name: str


class RoomRef(Reply):
    id: int
    name: str
    seat_plan_id: int | None


class VenueRooms(Reply):
    id: int
    name: str
    rooms: list[RoomRef]


class VenuePage(Reply):
    venues: list[VenueRooms]
    next_offset: int | None


class Room(Reply):
    id: int
    venue_id: int
    name: str
    seat_plan_id: int | None


# -- sessions ----------------------------------------------------------------------------------


MAX_NOTE = 500
MAX_TARIFF_CATEGORIES = 100
TaxRate = Annotated[int, Meta(ge=0, le=10_000, description="basis points: 550 is 5.5 %")]
Note = Annotated[
    str, Meta(max_length=MAX_NOTE, pattern="^[^\\u0000]*$", description="eligibility note")
]
TariffCategories = Annotated[
    list[CategoryName],
    Meta(
        max_length=MAX_TARIFF_CATEGORIES,
        description="seat categories of the session's plan it applies to; empty: all",
    ),
]


class TariffIn(msgspec.Struct, kw_only=True):
    name: Text
    price_cents: Count
    currency: Currency | None = "EUR"
    tax_rate_bp: TaxRate | None = 0
    categories: TariffCategories | None = None
    note: Note | None = ""


class TariffPatch(msgspec.Struct, kw_only=True):
    """Only the fields sent change; `currency` cannot change (tickets were priced in it)."""

    name: Text | None = None
    price_cents: Count | None = None
    tax_rate_bp: TaxRate | None = None
    categories: TariffCategories | None = None
    note: Note | None = None
    active: bool | None = None


MAX_GRID_SESSIONS = 500
MAX_GRID_TARIFFS = 50


class TariffGridIn(msgspec.Struct, kw_only=True):
    """Every tariff is created on every session, all or nothing."""

    session_ids: Annotated[list[Id], Meta(min_length=1, max_length=MAX_GRID_SESSIONS)]
    tariffs: Annotated[list[TariffIn], Meta(min_length=1, max_length=MAX_GRID_TARIFFS)]


class ContingentIn(msgspec.Struct, kw_only=True):
    """Seated: a named group of seats (its capacity is its seat count). General admission:
    a named share of the places."""

    name: Text
    capacity: Count
    seat_ids: SeatIds | None = None


class ContingentsIn(msgspec.Struct, kw_only=True):
    """A session's contingents, replacing those it has."""

    contingents: Annotated[list[ContingentIn], Meta(max_length=100)]


class NewSession(msgspec.Struct, kw_only=True):
    """Seated sessions use the room's current plan; general-admission sessions take
    `capacity` or the sum of their `contingents`."""

    room_id: Id
    event_name: Text
    starts_at: Timestamp
    ends_at: Timestamp
    """After `starts_at`."""
    seated: bool
    capacity: Count | None = None
    sales_open: bool | None = True
    sell_online_after_start: bool | None = False
    """Once the session has started, the shop still sells it (the desk always does)."""
    tariffs: list[TariffIn] | None = None
    contingents: list[ContingentIn] | None = None
    blocked_seats: SeatIds | None = None


class SessionPatch(msgspec.Struct, kw_only=True):
    """Only the fields sent change. `capacity`: general admission only, not below the
    places sold."""

    sales_open: bool | None = None
    sell_online_after_start: bool | None = None
    event_name: Text | None = None
    starts_at: Timestamp | None = None
    ends_at: Timestamp | None = None
    capacity: Count | None = None


class Session(Reply):
    id: int
    room_id: int
    event_name: str
    starts_at: Timestamp
    ends_at: Timestamp
    seated: bool
    seat_plan_id: int | None
    capacity: int
    sales_open: bool
    sell_online_after_start: bool
    """False: once started, the shop's holds and orders are refused (409 `session_started`)."""


class SessionListed(Session):
    room_name: str
    venue_name: str


class SessionPage(Reply):
    sessions: list[SessionListed]
    next_offset: int | None


class Tariff(Reply):
    id: int
    name: str
    price_cents: int
    currency: str
    tax_rate_bp: int
    categories: list[str]
    """Seat categories it applies to; empty: every category."""
    note: str
    active: bool
    """An inactive tariff is no longer sold."""


class SessionTariff(Tariff):
    session_id: int


class TariffGrid(Reply):
    tariffs: list[SessionTariff]
    """The tariffs created, session by session."""


class Contingent(Reply):
    id: int
    name: str
    capacity: int
    seat_ids: list[str]


class SessionDetail(SessionListed):
    tariffs: list[Tariff]
    contingents: list[Contingent]


SeatRow = tuple[str, str, str, str, str, float, float, bool]
"""[id, label, row, zone, category, x, y, accessible]"""


class SeatMap(Reply):
    """Seats in wire order (a seat's index is its position). Plan fields only when seated."""

    session_id: int
    seated: bool
    seats: list[SeatRow]
    plan_id: int | UnsetType = UNSET
    name: str | UnsetType = UNSET
    size: PlanSize | UnsetType = UNSET
    categories: list[PlanCategory] | UnsetType = UNSET


class Fill(Reply):
    session_id: int
    epoch: str
    seq: int
    capacity: int
    sold: int
    held: int
    free: int


class BlockSeats(msgspec.Struct, kw_only=True):
    seats: SeatIds | None = None
    blocked: bool


class Seq(Reply):
    seq: int
    """The session's sequence number after the change."""


class SessionTicket(Reply):
    """A ticket or pass booking of a session (seat fields are null for general admission)."""

    id: int
    seat_idx: int | None
    seat_id: str | None
    seat_label: str | None
    seat_row: str | None
    tariff_id: int
    tariff: str | None
    price_cents: int
    currency: str
    status: Literal["active", "refunded", "cancelled"]
    order_id: int
    channel: str
    kind: str
    """`sale`, `reservation` or `pass`."""
    buyer_name: str | None
    """The buyer, or the pass holder."""
    pass_id: int | None
    created_at: Timestamp


class TicketPage(Reply):
    tickets: list[SessionTicket]
    next_offset: int | None


class PlanPreview(Reply):
    """A plan as it would be stored: `seats` as on the seat-map endpoint, `document` in
    our format (what an export of it gives)."""

    format: Literal["guichet", "pretix"]
    """The format the body was read as."""
    name: str
    size: PlanSize
    categories: list[PlanCategory]
    seat_count: int
    seats: list[SeatRow]
    document: SeatPlanDocument
