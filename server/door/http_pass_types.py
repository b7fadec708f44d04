"""HTTP handlers of pass types: the passes an organiser sells (docs/passes.md)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.door import schemas
from server.door.pass_types import PassTypes
from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.web.api import Operations, Param
from server.web.requests import body_as, path_id, sent_fields

OPERATIONS = Operations()
TAGS = ("passes",)
MANAGE = Permission.CATALOG_MANAGE
READ = (Permission.SELL, Permission.CATALOG_MANAGE)


def _types(request: Request) -> PassTypes:
    types: PassTypes = request.app.state.pass_types
    return types


async def _fields(request: Request, model: type[Any]) -> dict[str, Any]:
    """The body as ``model`` (400 ``invalid_field`` out of bounds), as the fields sent."""
    fields = sent_fields(await body_as(request, model))
    if "session_ids" in fields and fields["session_ids"] is None:
        fields["session_ids"] = []
    return fields


@OPERATIONS.post(
    "/api/pass-types",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.PassTypeIn,
    responses={201: schemas.PassType},
    errors={400: ("unknown_sessions",)},
)
async def create_pass_type(request: Request) -> JSONResponse:
    """A pass type: a name, a gross price with its tax rate, and either a period (every
    session starting within it) or a list of sessions, at most `max_sessions` of them."""
    fields = await _fields(request, schemas.PassTypeIn)
    return JSONResponse(await _types(request).create(fields, actor_of(request)), status_code=201)


@OPERATIONS.get(
    "/api/pass-types",
    tags=TAGS,
    permission=READ,
    params=(Param("all", str, description="`1`: the inactive types too"),),
    responses={200: schemas.PassTypes},
)
async def list_pass_types(request: Request) -> JSONResponse:
    """The pass types on sale, by name (`?all=1`: the inactive ones too)."""
    types = await _types(request).all(active_only=request.query_params.get("all") != "1")
    return JSONResponse({"pass_types": types})


@OPERATIONS.patch(
    "/api/pass-types/{pass_type_id:int}",
    tags=TAGS,
    permission=MANAGE,
    body=schemas.PassTypePatch,
    responses={200: schemas.PassType},
    errors={400: ("unknown_sessions",)},
)
async def update_pass_type(request: Request) -> JSONResponse:
    """Change the fields sent (`active: false` stops its sale); passes already sold keep
    the period, sessions and price they were sold with."""
    fields = await _fields(request, schemas.PassTypePatch)
    changed = await _types(request).update(
        path_id(request, "pass_type_id"), fields, actor_of(request)
    )
    return JSONResponse(changed)
