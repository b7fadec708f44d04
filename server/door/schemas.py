"""The JSON shapes of the door's requests and replies: codes, refunds, scans, offline
uploads, the scanner bundle, counters, settings, reservations, keys and passes (msgspec
models; ``/openapi.json`` carries their JSON Schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

from scanning.decision import Mode, Reason
from scanning.names import NONCE
from server.door.requests import MAX_BATCH
from server.identity.schemas import DoorName
from server.web.api import TEXT_PATTERN, Count, Id, Reply, Text, Timestamp, whole
from server.web.requests import INT_MAX

Nonce = Annotated[str, Meta(pattern=whole(NONCE.pattern), description="8-64 of A-Za-z0-9_.-")]
Minutes = Annotated[int, Meta(ge=0, le=100_000)]
TicketStatus = Literal["active", "refunded", "cancelled"]
CODE = {"text/plain": str, "image/svg+xml": str, "image/png": None, "application/pdf": None}
"""The media types of a signed code: text, a QR code (SVG, PNG), a printable PDF."""

# -- tickets -----------------------------------------------------------------------------


class TicketSummary(Reply):
    id: int
    session_id: int
    seat_idx: int | None
    row: str | None
    seat: str | None
    tariff: str | None


class TicketCodeInfo(Reply):
    """The code and what a printed ticket shows (`format=json`)."""

    code: str
    ticket: TicketSummary
    event_name: str
    room: str
    holder: str | None
    starts_at: Timestamp


class Refunded(Reply):
    id: int
    status: Literal["refunded"]
    revoked: str
    """The revoked code's `code_ref`: `<ticket id>:<seed hex>`."""


# -- scans -------------------------------------------------------------------------------


class ScanIn(msgspec.Struct, kw_only=True):
    code: Text
    nonce: Nonce
    """Unique per scan of a device: a retry with the same nonce gets the first result."""
    door: DoorName
    session_id: Id | None = None
    """The session the scanner checks in (a ticket of another is `wrong_session`)."""
    room_id: Id | None = None
    mode: Mode | None = Mode.ENTRY
    scanned_at: Timestamp | None = None
    device: DoorName | None = None


class Holder(Reply):
    name: str
    photo: str | None


class ScanResult(Reply):
    """`entered_at`/`entered_door` come with `already_entered` and `no_reentry`; a pass
    scan has `pass_id` and `holder`."""

    scan_id: int
    result: Literal["valid", "refused"]
    reason: Reason | None
    session_id: int | None
    ticket: TicketSummary | None
    replayed: bool
    mode: Mode
    entered_at: Timestamp | UnsetType | None = UNSET
    entered_door: str | UnsetType | None = UNSET
    reentry: bool | UnsetType = UNSET
    holder: Holder | UnsetType | None = UNSET
    pass_id: int | UnsetType = UNSET


class BatchScan(msgspec.Struct, kw_only=True):
    code: Text
    nonce: Nonce
    door: DoorName
    scanned_at: Timestamp
    session_id: Id | None = None
    room_id: Id | None = None
    mode: Mode | None = Mode.ENTRY


class BatchIn(msgspec.Struct, kw_only=True):
    device: DoorName
    scans: Annotated[list[BatchScan], Meta(max_length=MAX_BATCH)]


class BatchScanResult(Reply):
    nonce: str
    scan_id: int
    result: Literal["valid", "refused"]
    reason: Reason | None
    replayed: bool


class BatchResult(Reply):
    accepted: int
    replayed: int
    valid: int
    conflicts: int
    results: list[BatchScanResult]


# -- what an offline scanner needs -------------------------------------------------------


class BundleSession(Reply):
    id: int
    room_id: int
    starts_at: Timestamp
    ends_at: Timestamp
    reentry_allowed: bool


class Entered(Reply):
    ticket_id: int
    door: str
    at: Timestamp | None
    inside: bool


class BundlePass(Reply):
    id: int
    holder_name: str
    allowed: bool
    status: TicketStatus
    ticket_id: int | None
    seed: str


class DoorBundle(Reply):
    """Public keys (hex, by key id), revoked codes (`<ticket id>:<seed hex>`), the tickets
    already entered and the passes that may be scanned there."""

    session: BundleSession
    public_keys: dict[str, str]
    revoked: list[str]
    entered: list[Entered]
    passes: list[BundlePass]


class ConflictScan(Reply):
    scan_id: int
    device: str
    door: str
    scanned_at: Timestamp | None
    offline: bool


class DoorConflict(Reply):
    """A ticket admitted twice: `kept` took the entry, `other` also let someone in."""

    id: int
    session_id: int
    ticket_id: int
    detected_at: Timestamp | None
    kept: ConflictScan
    other: ConflictScan


class ConflictPage(Reply):
    conflicts: list[DoorConflict]
    next_offset: int | None


class DoorCount(Reply):
    entered: int
    exited: int
    refused: int
    rate_per_minute: int


class DoorCounters(Reply):
    session_id: int
    entered: int
    exited: int
    inside: int
    refused: int
    refused_by_reason: dict[str, int]
    rate_per_minute: int
    doors: dict[str, DoorCount]


class DoorSettingsIn(msgspec.Struct, kw_only=True):
    reentry_allowed: bool


class DoorSettings(Reply):
    session_id: int
    reentry_allowed: bool


# -- reservations ------------------------------------------------------------------------


class Reservations(Reply):
    session_id: int
    older_than_minutes: int
    count: int
    seats: list[str]
    places: int
    ticket_ids: list[int]


class ReservationsReleased(Reservations):
    released: bool


class ReleaseUnscannedIn(msgspec.Struct, kw_only=True):
    older_than_minutes: Minutes | None = 15
    expected_count: Count
    """The previewed count: if it changed meanwhile nothing is released (409)."""


# -- signing keys ------------------------------------------------------------------------


class SigningKey(Reply):
    key_id: int
    state: Literal["active", "standby", "verifying", "retired"]
    active: bool
    retired: bool
    created_at: Timestamp
    activates_at: Timestamp


class SigningKeys(Reply):
    keys: list[SigningKey]


class KeyRotated(Reply):
    key_id: int
    state: Literal["standby"]
    activates_at: Timestamp


class KeyRetired(Reply):
    key_id: int
    retired: bool


# -- passes ------------------------------------------------------------------------------

PHOTO_DATA = "data:image/(png|jpeg|webp|gif);base64,[A-Za-z0-9+/]+={0,2}"
Photo = Annotated[
    str,
    Meta(
        max_length=64 * 1024,
        pattern=f"^(?:{PHOTO_DATA}|https://[^\\s\"'<>/]+(/[^\\s\"'<>]*)?)$",
        description="data:image/(png|jpeg|webp|gif);base64,… (64 KiB) or an https:// URL",
    ),
]


class PassIn(msgspec.Struct, kw_only=True):
    """`session_ids`, or `all_sessions: true` (every session starting in the window)."""

    holder_name: Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
    photo: Photo | None = None
    valid_from: Timestamp
    valid_until: Timestamp
    """After `valid_from`, before 2106 (codes carry unsigned 32-bit seconds)."""
    all_sessions: bool | None = False
    session_ids: Annotated[list[Id], Meta(max_length=1000)] | None = None
    max_sessions: Annotated[int, Meta(ge=1, le=INT_MAX)] | None = None


class Booking(Reply):
    ticket_id: int
    session_id: int
    seat_idx: int | None
    row: str | None
    seat: str | None
    booked_at: Timestamp
    entered_at: Timestamp | None
    entered_door: str | None
    inside: bool | None


class Pass(Reply):
    id: int
    holder: Holder
    valid_from: Timestamp
    valid_until: Timestamp
    all_sessions: bool
    session_ids: list[int]
    max_sessions: int | None
    status: TicketStatus
    created_at: Timestamp
    pass_type_id: int | None
    """The type it was sold as at the desk (none for a pass made with `POST /api/passes`)."""
    holder_first_name: str | None
    holder_last_name: str | None
    bookings: list[Booking]


class SoldPass(Pass):
    """A pass as sold: with its signed code (for the QR code)."""

    code: str


class PassSummary(Reply):
    id: int
    holder_name: str
    holder_first_name: str | None
    holder_last_name: str | None
    pass_type_id: int | None
    pass_type: str | None
    status: TicketStatus
    valid_from: Timestamp
    valid_until: Timestamp
    has_photo: bool
    bookings: int
    """Its active bookings."""
    created_at: Timestamp


class PassSearch(Reply):
    passes: list[PassSummary]
    next_offset: int | None


class BookingIn(msgspec.Struct, kw_only=True):
    session_id: Id


class CodeBookingIn(msgspec.Struct, kw_only=True):
    code: Annotated[str, Meta(min_length=1, max_length=500)]
    """The pass's code as scanned (a wedge scanner types it)."""
    session_id: Id


class PassBooking(Reply):
    pass_id: int
    created: bool
    """False: the pass had this booking already (the same answer as the first time)."""
    booking: Booking


# -- pass types ------------------------------------------------------------------------------

Price = Annotated[int, Meta(ge=0, le=10_000_000, description="gross cents (tax included)")]
TaxRate = Annotated[int, Meta(ge=0, le=10_000, description="basis points: 550 is 5.5 %")]
Currency = Annotated[str, Meta(pattern="^[A-Z]{3}$", description="ISO 4217")]
SessionIds = Annotated[list[Id], Meta(min_length=1, max_length=1000)]
MaxSessions = Annotated[int, Meta(ge=1, le=10_000)]


class PassTypeIn(msgspec.Struct, kw_only=True):
    """A period (`valid_from`, `valid_until`: every session starting within it) or
    `session_ids`, not both."""

    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)]
    price_cents: Price
    currency: Currency = "EUR"
    tax_rate_bp: TaxRate = 0
    valid_from: Timestamp | None = None
    valid_until: Timestamp | None = None
    session_ids: SessionIds | None = None
    max_sessions: MaxSessions | None = None
    """At most this many sessions booked on a pass (none: no limit)."""
    active: bool = True
    sold_online: bool = False
    """Offered in the e-shop (docs/shop.md)."""


class PassTypePatch(msgspec.Struct, kw_only=True):
    """The fields to change (passes already sold keep what they were sold with)."""

    name: Annotated[str, Meta(min_length=1, max_length=200, pattern=TEXT_PATTERN)] | UnsetType = (
        UNSET
    )
    price_cents: Price | UnsetType = UNSET
    currency: Currency | UnsetType = UNSET
    tax_rate_bp: TaxRate | UnsetType = UNSET
    valid_from: Timestamp | UnsetType | None = UNSET
    valid_until: Timestamp | UnsetType | None = UNSET
    session_ids: Annotated[list[Id], Meta(max_length=1000)] | UnsetType = UNSET
    max_sessions: MaxSessions | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET
    sold_online: bool | UnsetType = UNSET


class PassType(Reply):
    id: int
    name: str
    price_cents: int
    currency: str
    tax_rate_bp: int
    valid_from: Timestamp | None
    valid_until: Timestamp | None
    session_ids: list[int]
    max_sessions: int | None
    active: bool
    sold_online: bool
    created_at: Timestamp


class PassTypes(Reply):
    pass_types: list[PassType]
