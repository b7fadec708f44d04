"""The JSON shapes of the identity context's requests and replies: sign-in, users, scanner
devices (msgspec models; ``/openapi.json`` carries their JSON Schemas)."""

from __future__ import annotations

from typing import Annotated, Literal

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


class Me(Reply):
    """The caller; ``id`` and ``username`` are null without a token."""

    id: int | None
    username: str | None
    roles: list[str]


class NewUser(msgspec.Struct, kw_only=True):
    username: Text
    password: Password  # shorter: 400 weak_password
    roles: list[Role] | None = None


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
