"""Request helpers shared by the HTTP handlers: JSON bodies, typed fields, path ids."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import msgspec
from starlette.requests import Request

from server.platform.errors import Invalid, TooLarge

MAX_BODY = 4 * 1024 * 1024
T = TypeVar("T")


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes:
    """The body, read no further than ``limit`` bytes: a larger one is refused (413) as
    soon as its ``Content-Length`` says so, or once that many bytes have arrived."""
    declared = request.headers.get("content-length", "")
    too_large = TooLarge("body_too_large", f"bodies are limited to {limit} bytes")
    if declared.isascii() and declared.isdigit() and int(declared) > limit:
        raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


async def json_body(
    request: Request, required: bool = True, limit: int = MAX_BODY
) -> dict[str, Any]:
    raw = await read_body(request, limit)
    if not raw:
        if required:
            raise Invalid("invalid_json", "a JSON object body is required")
        return {}
    try:
        body = json.loads(raw, parse_constant=_no_constant)
    except (ValueError, RecursionError) as exc:
        raise Invalid("invalid_json", "the body is not valid JSON") from exc
    if not isinstance(body, dict):
        raise Invalid("invalid_json", "the body must be a JSON object")
    return body


async def body_as(request: Request, model: type[T]) -> T:
    """The JSON body as ``model`` (a ``msgspec.Struct``): a value out of its bounds is a 400
    ``invalid_field`` naming it."""
    body = await json_body(request)
    try:
        return msgspec.convert(body, model)
    except msgspec.ValidationError as exc:
        raise Invalid("invalid_field", str(exc)) from exc


def sent_fields(parsed: msgspec.Struct) -> dict[str, Any]:
    """The fields a request body set (a PATCH changes only those): what is not ``UNSET``."""
    return {
        f: getattr(parsed, f)
        for f in parsed.__struct_fields__
        if getattr(parsed, f) is not msgspec.UNSET
    }


INT_MIN, INT_MAX = -(2**31), 2**31 - 1  # Postgres ``integer``: counts, cents, indices
ID_MAX = 2**63 - 1  # Postgres ``bigint``: ids
MAX_TEXT = 1000  # characters of a text field unless a field says otherwise
NOT_TEXT = re.compile("[\x00\ud800-\udfff]")
"""What no text field may hold: NUL (Postgres text refuses it) and lone surrogates (not UTF-8)."""


def check_text(name: str, value: str) -> str:
    """A string that can be stored and sent on: without NUL or lone surrogates."""
    if NOT_TEXT.search(value):
        raise Invalid(
            "invalid_field", f"'{name}' holds a character that is not allowed", field=name
        )
    return value


def field(
    body: dict[str, Any],
    name: str,
    kind: type[T],
    default: Any = ...,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    max_length: int = MAX_TEXT,
) -> T:
    """A typed field of a JSON body; a missing, mistyped or out-of-range field is a 400
    ``invalid_field``. Integers are bounded (by default to Postgres ``integer``), strings
    to ``max_length`` characters."""
    if name not in body or body[name] is None:
        if default is ...:
            raise Invalid("invalid_field", f"'{name}' is required", field=name)
        return cast(T, default)
    value = body[name]
    ok = isinstance(value, kind) and not (kind is int and isinstance(value, bool))
    if not ok:
        raise Invalid("invalid_field", f"'{name}' must be of type {kind.__name__}", field=name)
    if isinstance(value, int) and not isinstance(value, bool):
        low = INT_MIN if minimum is None else minimum
        high = INT_MAX if maximum is None else maximum
        if not low <= value <= high:
            raise Invalid("invalid_field", f"'{name}' must be between {low} and {high}", field=name)
    if isinstance(value, str):
        if not value.strip():
            raise Invalid("invalid_field", f"'{name}' must not be blank", field=name)
        if len(value) > max_length:
            raise Invalid(
                "invalid_field", f"'{name}' is at most {max_length} characters", field=name
            )
        check_text(name, value)
    return cast(T, value)


def id_field(body: dict[str, Any], name: str, default: Any = ...) -> Any:
    """An id (a positive ``bigint``)."""
    return field(body, name, int, default, minimum=1, maximum=ID_MAX)


def timestamp(body: dict[str, Any], name: str) -> datetime:
    return parse_time(field(body, name, str), name)


def query_timestamp(request: Request, name: str) -> datetime | None:
    """An ISO 8601 time with its offset in the query string (``None`` when absent)."""
    raw = request.query_params.get(name)
    if not raw:
        return None
    if len(raw) > 64:
        raise Invalid("invalid_field", f"'{name}' must be an ISO 8601 time", field=name)
    return parse_time(raw, name)


def parse_time(text: str, name: str) -> datetime:
    """``text`` as an aware time Postgres can store; 400 ``invalid_field`` otherwise."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise Invalid("invalid_field", f"'{name}' must be an ISO 8601 time", field=name) from exc
    if value.tzinfo is None:
        raise Invalid("invalid_field", f"'{name}' needs a time zone offset", field=name)
    try:
        value.astimezone(UTC)  # what Postgres stores; 0001-01-01T00:00+01:00 has no UTC time
    except OverflowError as exc:
        raise Invalid("invalid_field", f"'{name}' is out of range", field=name) from exc
    return value


def path_id(request: Request, name: str, *, minimum: int = 1, maximum: int = ID_MAX) -> int:
    """An id in the path (Starlette's ``int`` convertor), within the column's range."""
    raw = request.path_params[name]
    if isinstance(raw, int) and minimum <= raw <= maximum:
        return raw
    raise Invalid("invalid_id", f"'{name}' must be a number from {minimum} to {maximum}")


def query_id(request: Request, name: str, *, required: bool = True) -> int | None:
    """An id in the query string (ASCII digits, 1 to ``ID_MAX``)."""
    return id_of(request.query_params, name, required=required)


def id_of(params: Mapping[str, str], name: str, *, required: bool = True) -> int | None:
    """An id among query parameters (ASCII digits, 1 to ``ID_MAX``)."""
    raw = params.get(name)
    if not raw:
        if required:
            raise Invalid("invalid_field", f"'{name}' is required", field=name)
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= ID_MAX):
        raise Invalid("invalid_field", f"'{name}' is a number from 1 to {ID_MAX}", field=name)
    return int(raw)


@dataclass(frozen=True, slots=True)
class Page:
    """``?limit=&offset=`` of a list endpoint (default 100, at most 500 a page)."""

    limit: int
    offset: int

    def sql(self) -> str:
        """The clause; one row more than asked tells whether another page follows."""
        return f" LIMIT {self.limit + 1} OFFSET {self.offset}"

    def body(self, name: str, rows: list[Any]) -> dict[str, Any]:
        more = len(rows) > self.limit
        return {name: rows[: self.limit], "next_offset": self.offset + self.limit if more else None}


MAX_PAGE = 500
MAX_OFFSET = 1_000_000


def page(request: Request) -> Page:
    def number(name: str, default: int, low: int, high: int) -> int:
        raw = request.query_params.get(name)
        if raw is None:
            return default
        if not (raw.isascii() and raw.isdigit() and len(raw) <= 7 and low <= int(raw) <= high):
            raise Invalid("invalid_field", f"'{name}' is a number from {low} to {high}", field=name)
        return int(raw)

    return Page(number("limit", 100, 1, MAX_PAGE), number("offset", 0, 0, MAX_OFFSET))


def string_list(body: dict[str, Any], name: str, max_items: int = 10_000) -> list[str]:
    value = body.get(name) or []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise Invalid("invalid_field", f"'{name}' must be a list of strings", field=name)
    if len(value) > max_items:
        raise Invalid("invalid_field", f"'{name}' has more than {max_items} items", field=name)
    for item in value:
        check_text(name, item)
    return value
