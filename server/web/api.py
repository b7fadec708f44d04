"""The HTTP contract: every operation is declared next to its handler, and both the routes
and the OpenAPI document (``/openapi.json``) are built from those declarations.

A declaration (:class:`Operation`) says the method and path, what the caller needs (a
permission, or ``PUBLIC``), the request body model, the response model of each success
status and the error codes of each error status. Models are msgspec ``Struct`` types (or
any type msgspec can describe); their JSON Schemas go to ``components/schemas``. Request
models state the bounds ``server.web.requests`` enforces, response models are closed
(``forbid_unknown_fields``) so a reply with a key the model lacks breaks the contract test.

The statuses every operation shares are added here, from what the declaration says:
400 ``invalid_json``/``invalid_field`` and 413 for a body, 400 ``invalid_id`` and 404 for an
id in the path, 401/403 when a permission is needed (and 401 for a bad token anywhere: the
principal middleware checks any token sent), 503 when Postgres or Redis is needed.

The declaration is what is enforced: the route built from it runs its check before the
handler (so before the body is read). Permission names are opaque here (web imports only
platform): the app passes ``routes`` a ``Guard`` (identity's) that turns each declaration
into its check once, when the routes are built.
"""

from __future__ import annotations

import functools
import inspect
import re
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from http import HTTPStatus
from typing import (
    Annotated,
    Any,
    Final,
    Literal,
    Required,
    TypedDict,
    TypeVar,
    Unpack,
    get_args,
    get_origin,
)

import msgspec
from msgspec import Meta
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from server.platform.errors import Unauthenticated
from server.web.requests import ID_MAX, INT_MAX, MAX_OFFSET, MAX_PAGE, MAX_TEXT

Handler = Callable[[Request], Awaitable[Response]]
H = TypeVar("H", bound=Handler)

PUBLIC: Final = "public"
"""Anyone may call, with or without a token."""
SIGNED_IN: Final = "signed_in"
"""Any signed-in user or device, whatever its roles (one's own password, language)."""
API_KEY: Final = "api_key"
"""An organiser's website, by its API key (``X-Api-Key`` or ``?key=``): checked, with its
origins and rate limit, by the website API's edge (``server.siteapi.edge``), which puts the
key on ``request.state.api_key``; the route refuses a request that did not pass there."""
Needs = str | tuple[str, ...]
"""What the caller needs: ``PUBLIC``, ``SIGNED_IN``, a permission, or a tuple of
permissions any one of which suffices (``server.identity.permissions.Permission`` values)."""
Check = Callable[[Request], None]
"""Refuses a request (raises a domain error: 401, 403) or lets it through."""
Guard = Callable[[Needs], Check]
"""Makes the check of a declaration's ``Needs`` (raises ``ValueError`` for an unknown name)."""

SERVICES: Final = ("database_unavailable", "live_unavailable")
"""The 503 codes: Postgres or Redis is down (the answer carries ``Retry-After``)."""
REF = "#/components/schemas/{name}"

# -- field types: the bounds of server.web.requests -----------------------------------------

Id = Annotated[int, Meta(ge=1, le=ID_MAX, description="an id (Postgres bigint)")]
Count = Annotated[int, Meta(ge=0, le=INT_MAX)]
Timestamp = Annotated[datetime, Meta(tz=True)]
"""An ISO 8601 time with its offset (RFC 3339); ``datetime.fromisoformat`` reads it."""
TEXT_PATTERN = "^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$"  # not blank, no NUL
Text = Annotated[str, Meta(min_length=1, max_length=MAX_TEXT, pattern=TEXT_PATTERN)]
"""A text field (``server.web.requests.field``): not blank, no NUL, at most 1000 characters."""


def whole(pattern: str) -> str:
    """A Python ``re`` pattern that must match the whole string, as a JSON Schema pattern."""
    return f"^(?:{pattern})$"


class Reply(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Base of response models: closed, every field without a default is required."""


class ErrorDetail(msgspec.Struct, kw_only=True):
    """``code`` is stable (machine-readable), ``message`` is for people; other keys are
    details of the refusal (``field``, ``seats``…)."""

    code: str
    message: str


class Error(Reply):
    """The body of every refusal."""

    error: ErrorDetail


# -- declarations --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Param:
    """A path, query or header parameter; ``kind`` is a type msgspec can describe."""

    name: str
    kind: Any
    where: Literal["path", "query", "header"] = "query"
    required: bool = False
    description: str = ""


PAGE = (
    Param("limit", Annotated[int, Meta(ge=1, le=MAX_PAGE)], description="rows a page (100)"),
    Param("offset", Annotated[int, Meta(ge=0, le=MAX_OFFSET)], description="rows to skip"),
)
"""``?limit=&offset=`` of a list (``server.web.requests.page``)."""


class Spec(TypedDict, total=False):
    """What a declaration says besides its method, path and handler (see ``Operation``)."""

    permission: Required[Needs]
    responses: Required[Mapping[int, Any]]
    tags: tuple[str, ...]
    body: Any
    body_required: bool
    errors: Mapping[int, tuple[str, ...]]
    params: tuple[Param, ...]
    token_optional: bool
    unavailable: tuple[str, ...]
    name: str


@dataclass(frozen=True, slots=True)
class Operation:
    """One HTTP operation. ``path`` is Starlette's (``/api/sessions/{session_id:int}``).
    ``permission``: what the caller needs (no default: a route cannot be declared without).
    ``responses`` maps a status to its JSON model, or to ``{media type: model or None}``
    (``None``: binary). ``errors`` maps an error status to its codes (the shared ones are
    added, see the module docstring). ``token_optional``: public, but a token changes the
    answer. ``unavailable``: the 503 codes (empty when no service is touched)."""

    method: str
    path: str
    handler: Handler
    permission: Needs
    responses: Mapping[int, Any]
    tags: tuple[str, ...] = ()
    body: Any = None
    body_required: bool = True
    errors: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    params: tuple[Param, ...] = ()
    token_optional: bool = False
    unavailable: tuple[str, ...] = SERVICES
    name: str = ""

    @property
    def operation_id(self) -> str:
        return self.name or self.handler.__name__

    @property
    def openapi_path(self) -> str:
        return re.sub(r"\{(\w+):\w+\}", r"{\1}", self.path)

    def parameters(self) -> list[Param]:
        """Declared parameters, and an id (``Id``) for each ``{name:int}`` of the path
        that is not declared."""
        declared = {p.name for p in self.params if p.where == "path"}
        ids = [
            Param(name, Id, "path", True)
            for name in re.findall(r"\{(\w+):int\}", self.path)
            if name not in declared
        ]
        return [*ids, *self.params]

    def error_codes(self) -> dict[int, list[str]]:
        """Every error status with its codes: the declared ones and the shared ones."""
        codes: dict[int, list[str]] = {s: list(c) for s, c in self.errors.items()}

        def add(status: int, *names: str) -> None:
            known = codes.setdefault(status, [])
            known.extend(n for n in names if n not in known)

        params = self.parameters()
        if self.body is not None:
            add(400, "invalid_json", "invalid_field")
            add(413, "body_too_large")
        path = [p for p in params if p.where == "path"]
        if any(_is_int(p.kind) for p in path):
            add(400, "invalid_id")
        if path:
            add(404, "not_found")
        if any(p.where != "path" for p in params):
            add(400, "invalid_field")
        if self.website:
            add(401, "api_key_required", "invalid_api_key")
            add(403, "origin_not_allowed")
            add(429, "rate_limited")
        if self.public or self.website:
            add(401, "invalid_token", "token_expired", "token_revoked")
        else:
            add(401, "authentication_required", "invalid_token", "token_expired", "token_revoked")
            add(403, "forbidden")
        if self.method not in ("GET", "HEAD"):
            add(403, "csrf_failed")
            if not self.public:
                add(403, "csrf_required")
        if self.unavailable:
            add(503, *self.unavailable)
        return dict(sorted(codes.items()))

    @property
    def public(self) -> bool:
        return self.permission == PUBLIC

    @property
    def website(self) -> bool:
        """Called by an organiser's website with its API key."""
        return self.permission == API_KEY

    @property
    def needs(self) -> tuple[str, ...]:
        """The permissions any one of which suffices (empty when public; ``api_key`` for
        the website API)."""
        if self.public:
            return ()
        return (self.permission,) if isinstance(self.permission, str) else self.permission

    def security(self) -> list[dict[str, list[str]]]:
        if self.website:
            return [{"apiKey": []}, {"apiKeyQuery": []}]
        if not self.public:
            return [{"bearer": []}, {"session": []}]
        return [{}, {"bearer": []}, {"session": []}] if self.token_optional else []

    def route(self, guard: Guard) -> Route:
        """The route: the handler, behind the check of the declared permission."""
        if self.permission == API_KEY:
            endpoint = _guarded(self.handler, _website_check)
        elif self.public:
            endpoint = self.handler
        else:
            endpoint = _guarded(self.handler, guard(self.permission))
        return Route(self.path, endpoint, methods=[self.method], name=self.operation_id)


def _website_check(request: Request) -> None:
    if getattr(request.state, "api_key", None) is None:
        raise Unauthenticated("api_key_required", "send the website's key in X-Api-Key")


def _guarded(handler: Handler, check: Check) -> Handler:
    @functools.wraps(handler)
    async def guarded(request: Request) -> Response:
        check(request)
        return await handler(request)

    return guarded


class Operations(list[Operation]):
    """The operations of one HTTP module, in order; ``get``, ``post``… declare one, as a
    decorator of its handler."""

    def declare(self, method: str, path: str, **spec: Unpack[Spec]) -> Callable[[H], H]:
        def add(handler: H) -> H:
            if "name" not in spec and any(op.handler is handler for op in self):
                spec["name"] = f"{handler.__name__}_{method.lower()}"  # one handler, two routes
            self.append(Operation(method, path, handler, **spec))
            return handler

        return add

    def get(self, path: str, **spec: Unpack[Spec]) -> Callable[[H], H]:
        return self.declare("GET", path, **spec)

    def post(self, path: str, **spec: Unpack[Spec]) -> Callable[[H], H]:
        return self.declare("POST", path, **spec)

    def put(self, path: str, **spec: Unpack[Spec]) -> Callable[[H], H]:
        return self.declare("PUT", path, **spec)

    def patch(self, path: str, **spec: Unpack[Spec]) -> Callable[[H], H]:
        return self.declare("PATCH", path, **spec)

    def delete(self, path: str, **spec: Unpack[Spec]) -> Callable[[H], H]:
        return self.declare("DELETE", path, **spec)


def _is_int(kind: Any) -> bool:
    return kind is int or (get_origin(kind) is Annotated and get_args(kind)[0] is int)


def routes(operations: Iterable[Operation], guard: Guard) -> list[Route]:
    return [op.route(guard) for op in operations]


# -- the OpenAPI document ------------------------------------------------------------------


class _Schemas:
    """JSON Schemas of every type the operations name, from one msgspec call, so shared
    models become one component each."""

    def __init__(self, operations: list[Operation]) -> None:
        kinds: dict[int, Any] = {id(Error): Error}
        for op in operations:
            for kind in _kinds_of(op):
                kinds.setdefault(id(kind), kind)
        schemas, self.components = msgspec.json.schema_components(
            list(kinds.values()), ref_template=REF
        )
        self._by_id = dict(zip(kinds, schemas, strict=True))

    def __call__(self, kind: Any) -> dict[str, Any]:
        schema: dict[str, Any] = self._by_id[id(kind)]
        return schema


def _kinds_of(op: Operation) -> Iterable[Any]:
    if op.body is not None:
        yield op.body
    for param in op.parameters():
        yield param.kind
    for model in op.responses.values():
        if isinstance(model, Mapping):
            yield from (m for m in model.values() if m is not None)
        else:
            yield model


def _docs(handler: Handler) -> tuple[str, str]:
    """Summary (the docstring's first paragraph, on one line) and description (the rest)."""
    doc = inspect.getdoc(handler) or ""
    first, _, rest = doc.partition("\n\n")
    return " ".join(first.split()), rest.strip()


def _content(model: Any, schemas: _Schemas) -> dict[str, Any]:
    if not isinstance(model, Mapping):
        return {"application/json": {"schema": schemas(model)}}
    return {
        media: ({"schema": schemas(kind)} if kind is not None else {})
        for media, kind in model.items()
    }


def _error_response(status: int, codes: list[str]) -> dict[str, Any]:
    """The shared error body, with the operation's codes for this status."""
    schema = {
        "allOf": [{"$ref": REF.format(name="Error")}],
        "properties": {"error": {"properties": {"code": {"enum": codes}}}},
    }
    response: dict[str, Any] = {
        "description": ", ".join(codes),
        "content": {"application/json": {"schema": schema}},
    }
    if status in (503, 429):
        response["headers"] = {
            "Retry-After": {"description": "seconds", "schema": {"type": "integer"}}
        }
    return response


def _parameter(param: Param, schemas: _Schemas) -> dict[str, Any]:
    out: dict[str, Any] = {
        "name": param.name,
        "in": param.where,
        "required": param.required or param.where == "path",
        "schema": schemas(param.kind),
    }
    if param.description:
        out["description"] = param.description
    return out


def _operation(op: Operation, schemas: _Schemas) -> dict[str, Any]:
    summary, description = _docs(op.handler)
    out: dict[str, Any] = {"operationId": op.operation_id, "summary": summary}
    if description:
        out["description"] = description
    out["tags"] = list(op.tags)
    out["security"] = op.security()
    out["x-permission"] = PUBLIC if op.public else API_KEY if op.website else list(op.needs)
    if params := op.parameters():
        out["parameters"] = [_parameter(p, schemas) for p in params]
    if op.body is not None:
        out["requestBody"] = {
            "required": op.body_required,
            "content": {"application/json": {"schema": schemas(op.body)}},
        }
    responses: dict[str, Any] = {
        str(status): {"description": HTTPStatus(status).phrase, "content": _content(model, schemas)}
        for status, model in op.responses.items()
    }
    for status, codes in op.error_codes().items():
        if status not in op.responses:
            responses[str(status)] = _error_response(status, codes)
    out["responses"] = dict(sorted(responses.items()))
    return out


def openapi_document(operations: Iterable[Operation], info: Mapping[str, Any]) -> dict[str, Any]:
    """The OpenAPI 3.1 document of ``operations``. Two declarations of one method and path,
    or one operation id twice, are a programming error."""
    ops = list(operations)
    schemas = _Schemas(ops)
    paths: dict[str, dict[str, Any]] = {}
    seen: set[str] = set()
    for op in ops:
        methods = paths.setdefault(op.openapi_path, {})
        if op.method.lower() in methods or op.operation_id in seen:
            raise ValueError(f"{op.method} {op.path} ({op.operation_id}) is declared twice")
        seen.add(op.operation_id)
        methods[op.method.lower()] = _operation(op, schemas)
    return {
        "openapi": "3.1.0",
        "info": dict(info),
        "paths": paths,
        "components": {
            "schemas": schemas.components,
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "apiKey": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Api-Key",
                    "description": "an organiser's website key (docs/website-api.md)",
                },
                "apiKeyQuery": {
                    "type": "apiKey",
                    "in": "query",
                    "name": "key",
                    "description": "the same key in the query (the embedded seat picker)",
                },
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": "guichet_session",
                    "description": "a staff page's session (POST /api/auth/session); a"
                    " request that changes state also sends the session's CSRF token in"
                    " the X-CSRF-Token header",
                },
            },
        },
    }
