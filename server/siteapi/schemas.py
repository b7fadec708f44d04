"""The JSON shapes of the website API and of its keys' administration (``/openapi.json``)."""

from __future__ import annotations

from typing import Annotated

import msgspec
from msgspec import Meta

from server.catalog.schemas import Tariff
from server.siteapi.keys import MAX_ORIGINS
from server.web.api import Reply, Text, Timestamp

Origin = Annotated[str, Meta(min_length=1, max_length=270)]
"""Checked by ``normal_origin`` (400 ``invalid_origin``): `scheme://host[:port]`."""


class ApiKeyIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Text
    origins: Annotated[list[Origin], Meta(max_length=MAX_ORIGINS)] = []
    """The websites allowed by CORS, as `scheme://host[:port]` (e.g. `https://festival.example`)."""
    rate_per_minute: Annotated[int, Meta(ge=1, le=100_000)] = 600


class ApiKey(Reply):
    id: int
    name: str
    prefix: str
    """The key's first characters, to tell keys apart."""
    origins: list[str]
    rate_per_minute: int
    created_at: Timestamp
    revoked_at: Timestamp | None


class NewApiKey(ApiKey):
    key: str
    """The key itself: shown this once, never again (only its hash is kept)."""


class ApiKeyList(Reply):
    keys: list[ApiKey]


class Availability(Reply):
    """Live, from the seat map's state (the shop's): every hold and sale counts at once."""

    capacity: int
    sold: int
    held: int
    free: int
    epoch: str
    seq: int


class PublicSession(Reply):
    id: int
    event_name: str
    starts_at: Timestamp
    ends_at: Timestamp
    room_name: str
    venue_name: str
    seated: bool
    on_sale: bool
    """Sales open and, unless the organiser allows it, not started."""
    availability: Availability
    shop_url: str
    """The shop's page of this session."""


class PublicSessionPage(Reply):
    sessions: list[PublicSession]
    next_offset: int | None


class PublicSessionDetail(PublicSession):
    tariffs: list[Tariff]


class PublicEvent(Reply):
    name: str
    first_starts_at: Timestamp
    last_starts_at: Timestamp
    session_ids: list[int]


class PublicEventList(Reply):
    events: list[PublicEvent]


class PublicTariffs(Reply):
    session_id: int
    tariffs: list[Tariff]
    """The tariffs on sale; each says which seat categories it applies to (empty: all)."""
