"""The JSON shapes of the identity context's requests and replies: sign-in, users, scanner
devices (msgspec models; ``/openapi.json`` carries their JSON Schemas)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import msgspec
from msgspec import Meta

from scanning.names import DOOR_NAME
from server.identity.roles import Role
from server.web.api import TEXT_PATTERN, Id, Reply, Text, Timestamp, whole
from server.web.requests import MAX_TEXT

DoorName = Annotated[
    str, Meta(pattern=whole(DOOR_NAME.pattern), description="1-40 of A-Za-z0-9_.-")
]
Password = Annotated[str, Meta(min_length=8, max_length=MAX_TEXT, pattern=TEXT_PATTERN)]
Language = Literal["en", "fr"]
Mode = Literal["entry", "exit"]


class Login(msgspec.Struct, kw_only=True):
    username: Text
    password: Text


class User(Reply):
    id: int
    username: str
    roles: list[str]


class SignedIn(Reply):
    token: str
    """A bearer token, valid 12 hours."""
    user: User


class PointOfSale(Reply):
    id: int
    name: str
    kind: Literal["desk", "bar", "eshop", "kiosk"]


class PointOfSaleIn(msgspec.Struct, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=80, pattern=TEXT_PATTERN)]
    kind: Literal["desk", "bar", "eshop", "kiosk"] = "desk"


class PointsOfSale(Reply):
    items: list[PointOfSale]


class StaffUser(Reply):
    """A member of staff as the back office shows them."""

    id: int
    username: str
    display_name: str
    roles: list[str]
    points_of_sale: list[PointOfSale]
    language: Language
    disabled: bool
    created_at: Timestamp
    last_sign_in_at: Timestamp | None


class UserPage(Reply):
    items: list[StaffUser]
    next_offset: int | None
    total: int


class StaffSession(Reply):
    """A staff page signed in: the session cookie is set (HttpOnly); state-changing requests
    send ``csrf`` in the ``X-CSRF-Token`` header."""

    user: StaffUser
    csrf: str
    expires_at: int
    """Unix time the session ends (12 hours after sign-in)."""


class SignedOut(Reply):
    signed_out: bool


class Me(Reply):
    """The caller; ``id`` and ``username`` are null when anonymous. ``via`` says how it
    signed in; ``csrf`` is the CSRF token of a cookie session."""

    id: int | None
    username: str | None
    roles: list[str]
    permissions: list[str]
    via: Literal["cookie", "bearer"] | None
    csrf: str | None
    expires_at: int | None
    display_name: str | None = None
    language: Language | None = None
    points_of_sale: list[PointOfSale] | None = None


class MeIn(msgspec.Struct, kw_only=True):
    language: Language


class PasswordChange(msgspec.Struct, kw_only=True):
    current: Text
    new: Password  # shorter: 400 weak_password


class PasswordChanged(Reply):
    changed: bool
    csrf: str | None


class PasswordReset(msgspec.Struct, kw_only=True):
    password: Password  # shorter: 400 weak_password


DisplayName = Annotated[str, Meta(max_length=200)]


class NewUser(msgspec.Struct, kw_only=True):
    username: Annotated[str, Meta(min_length=1, max_length=80, pattern=TEXT_PATTERN)]
    password: Password  # shorter: 400 weak_password
    roles: list[Role] | None = None
    display_name: DisplayName | None = None
    points_of_sale: Annotated[list[Id], Meta(max_length=100)] | None = None
    language: Language | None = None


class UserChange(msgspec.Struct, kw_only=True):
    display_name: DisplayName | None = None
    roles: Annotated[list[Role], Meta(max_length=15)] | None = None
    points_of_sale: Annotated[list[Id], Meta(max_length=100)] | None = None
    language: Language | None = None


class AuditEntry(Reply):
    id: int
    at: Timestamp
    actor_id: int | None
    actor_name: str | None
    device_id: int | None
    point_of_sale: str | None
    address: str | None
    action: str
    subject: str
    details: dict[str, Any]


class AuditPage(Reply):
    items: list[AuditEntry]
    next_offset: int | None


class DeviceIn(msgspec.Struct, kw_only=True):
    name: DoorName
    room_id: Id | None = None
    language: Language | None = "en"
    mode: Mode | None = "entry"


class Device(Reply):
    id: int
    name: str
    room_id: int | None
    language: Language
    mode: Mode
    created_at: Timestamp
    enrolment_expires_at: Timestamp | None
    revoked: bool
    last_seen_at: Timestamp | None
    """When the device last called the server (to the minute)."""


class Enrolment(Reply):
    """A device and its one-time enrolment code (15 minutes)."""

    device: Device
    enrolment_code: str
    config_url: str
    qr_url: str


class DevicePage(Reply):
    devices: list[Device]
    next_offset: int | None


class EnrolIn(msgspec.Struct, kw_only=True):
    code: Text


class DeviceConfig(Reply):
    room_id: int | None
    language: Language
    mode: Mode


class Enrolled(Reply):
    """A device token (role ``entry_check``) and the device's configuration."""

    token: str
    device: Device
    config: DeviceConfig


class Revocation(Reply):
    """Every token of a user issued until now, or of a device, is refused from now on by
    every server process, and its open WebSockets lose their roles."""

    id: int
    revoked: bool
