"""The admin's side of the website API: create (the key is shown once), list and revoke
the API keys of the organiser's websites."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse

from server.identity.actors import actor_of
from server.identity.permissions import Permission
from server.siteapi.keys import ApiKeys
from server.siteapi.schemas import ApiKey, ApiKeyIn, ApiKeyList, NewApiKey
from server.web.api import Operations
from server.web.requests import body_as, path_id

OPERATIONS = Operations()
TAGS = ("admin",)


def _keys(request: Request) -> ApiKeys:
    keys: ApiKeys = request.app.state.api_keys
    return keys


@OPERATIONS.post(
    "/api/api-keys",
    tags=TAGS,
    permission=Permission.ADMIN,
    body=ApiKeyIn,
    responses={201: NewApiKey},
    errors={400: ("invalid_origin",)},
)
async def create_api_key(request: Request) -> JSONResponse:
    """Create a website's API key: its name, the origins CORS lets in, its requests a
    minute. The answer holds the key itself, the only time it is shown (audit log:
    `api_key.create`)."""
    body = await body_as(request, ApiKeyIn)
    created = await _keys(request).create(
        body.name, body.origins, body.rate_per_minute, actor_of(request)
    )
    return JSONResponse(created, status_code=201)


@OPERATIONS.get(
    "/api/api-keys", tags=TAGS, permission=Permission.ADMIN, responses={200: ApiKeyList}
)
async def list_api_keys(request: Request) -> JSONResponse:
    """Every website key, revoked ones too (never the keys themselves)."""
    return JSONResponse({"keys": await _keys(request).list()})


@OPERATIONS.post(
    "/api/api-keys/{api_key_id:int}/revoke",
    tags=TAGS,
    permission=Permission.ADMIN,
    responses={200: ApiKey},
    errors={404: ("unknown_api_key",), 409: ("already_revoked",)},
)
async def revoke_api_key(request: Request) -> JSONResponse:
    """Revoke a website key: every process refuses it from now on (audit log:
    `api_key.revoke`)."""
    revoked = await _keys(request).revoke(path_id(request, "api_key_id"), actor_of(request))
    return JSONResponse(revoked)
