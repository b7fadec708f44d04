"""The WebSocket protocol, defined once: subprotocols, message types, channels, error codes.

``docs/protocol.md`` documents these; ``static/protocol.js`` is generated from this module
(``python -m server.realtime.protocol > static/protocol.js``) and a test checks that it is fresh.
"""

from __future__ import annotations

import json
from enum import StrEnum
from typing import Any, cast

import msgpack

SUBPROTOCOL_JSON = "guichet.json"
SUBPROTOCOL_MSGPACK = "guichet.msgpack"
SUBPROTOCOLS = (SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK)

MAX_CLIENT_FRAME = 16 * 1024
MAX_SUBSCRIPTIONS = 64


class ClientType(StrEnum):
    SUBSCRIBE = "subscribe"
    UNSUBSCRIBE = "unsubscribe"
    PING = "ping"
    AUTH = "auth"
    SCAN = "scan"  # door: scan a ticket code (needs door.scan), answered by scan_result


class ServerType(StrEnum):
    SNAPSHOT = "snapshot"
    DELTA = "delta"
    GAUGE = "gauge"
    RESYNC = "resync"
    UNSUBSCRIBED = "unsubscribed"
    PONG = "pong"
    AUTHENTICATED = "authenticated"
    SCAN_RESULT = "scan_result"
    DOOR = "door"
    REVOKED = "revoked"
    STOCK = "stock"
    BAR_SALES = "bar_sales"
    STATS = "stats"
    ERROR = "error"


class ChannelKind(StrEnum):
    SEATS = "seats"  # seats:<session_id>: snapshot then deltas of seat states
    GAUGE = "gauge"  # gauge:<session_id>: capacity, sold, held, free
    DOOR = "door"  # door:<session_id>: entry counters, new entries, revoked codes
    STOCK = "stock"  # stock:<point_of_sale_id>: counted articles' stock and alert flags
    BARS = "bars"  # bars:0: wallet sales per minute and per bar (0: every bar)
    STATS = "stats"  # stats:0: the statistics of the subscription's period, when they change


class ErrorCode(StrEnum):
    BAD_FRAME = "bad_frame"
    FRAME_TOO_LARGE = "frame_too_large"
    UNKNOWN_TYPE = "unknown_type"
    BAD_MESSAGE = "bad_message"
    UNKNOWN_CHANNEL = "unknown_channel"
    UNKNOWN_SESSION = "unknown_session"
    NOT_SUBSCRIBED = "not_subscribed"
    TOO_MANY_SUBSCRIPTIONS = "too_many_subscriptions"
    INVALID_TOKEN = "invalid_token"
    NO_SESSION = "no_session"  # `auth` without a token, and no staff session cookie
    TOKEN_EXPIRED = "token_expired"  # pushed when the token of `auth` expires (see `auth`)
    TOKEN_REVOKED = "token_revoked"  # pushed when the token of `auth` is revoked
    FORBIDDEN = "forbidden"
    UNAVAILABLE = "unavailable"


class SnapshotFormat(StrEnum):
    DIGITS = "digits"  # "states": one digit per seat (the default)
    RUNS = "runs"  # "runs": [[state, count], ...], far smaller for large maps


class ResyncReason(StrEnum):
    SLOW_CONSUMER = "slow_consumer"  # the client fell behind; resubscribe with `since`


def parse_channel(channel: object) -> tuple[ChannelKind, int]:
    """``"seats:12"`` -> (SEATS, 12); raises ValueError for anything else."""
    if not isinstance(channel, str):
        raise ValueError("channel must be a string")
    kind, _, ident = channel.partition(":")
    if not (ident.isascii() and ident.isdigit()) or len(ident) > 18:
        raise ValueError("channel id must be a number")
    return ChannelKind(kind), int(ident)


def error(code: ErrorCode, message: str, ref: Any = None) -> dict[str, Any]:
    frame: dict[str, Any] = {"type": ServerType.ERROR.value, "code": code.value, "message": message}
    if ref is not None:
        frame["id"] = ref
    return frame


class Codec:
    """One encoding of frames: JSON text frames or msgpack binary frames."""

    def __init__(self, binary: bool) -> None:
        self.binary = binary

    def encode(self, message: dict[str, Any]) -> str | bytes:
        if self.binary:
            return cast(bytes, msgpack.packb(message, use_bin_type=True))
        return json.dumps(message, separators=(",", ":"))

    def decode(self, data: str | bytes) -> Any:
        if self.binary:
            if isinstance(data, str):
                raise ValueError("msgpack frames are binary")
            return msgpack.unpackb(data, raw=False, strict_map_key=True)
        return json.loads(data, parse_constant=_no_constant)


def _no_constant(name: str) -> Any:
    """JSON has no NaN or Infinity (Python's parser accepts them by default)."""
    raise ValueError(f"{name} is not JSON")


MAX_REF = 64  # characters of a string ``id``


def valid_ref(ref: object) -> bool:
    """A request ``id`` is echoed in the reply: a short string or a safe integer."""
    if ref is None or (isinstance(ref, str) and len(ref) <= MAX_REF):
        return True
    return type(ref) is int and abs(ref) <= 2**53


JSON = Codec(binary=False)
MSGPACK = Codec(binary=True)


def javascript_constants() -> str:
    """The browser clients' copy of the protocol constants."""
    consts = {
        "SUBPROTOCOLS": {"json": SUBPROTOCOL_JSON, "msgpack": SUBPROTOCOL_MSGPACK},
        "CLIENT": {t.name: t.value for t in ClientType},
        "SERVER": {t.name: t.value for t in ServerType},
        "CHANNEL": {t.name: t.value for t in ChannelKind},
        "ERROR": {t.name: t.value for t in ErrorCode},
        "RESYNC": {t.name: t.value for t in ResyncReason},
        "SNAPSHOT_FORMAT": {t.name: t.value for t in SnapshotFormat},
        "SEAT_STATE": {"FREE": 0, "HELD": 1, "SOLD": 2, "UNAVAILABLE": 3},
    }
    body = json.dumps(consts, indent=2, sort_keys=True)
    return (
        "// Generated by `python -m server.realtime.protocol > static/protocol.js`; do not edit.\n"
        f"export const PROTOCOL = Object.freeze({body});\n"
    )


if __name__ == "__main__":
    print(javascript_constants(), end="")
