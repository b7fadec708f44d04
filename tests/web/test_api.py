"""Operation declarations: the shared statuses follow from what an operation declares, the
document refuses a route declared twice, every route of the app is a declared one, and a
route runs the check of its declared permission before its handler."""

from __future__ import annotations

import httpx
import msgspec
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from server.app import OPERATIONS, ROUTES
from server.identity.pages import STAFF_PAGES
from server.platform.errors import DomainError, Forbidden
from server.siteapi.embed import EMBED_PAGE
from server.web.api import PUBLIC, Check, Id, Needs, Operations, Param, Reply, openapi_document
from server.web.api import routes as build_routes
from server.web.errors import domain_error_handler


class Thing(Reply):
    id: int


class ThingIn(msgspec.Struct):
    name: str


async def handler(request: Request) -> JSONResponse:
    """Summary line.

    Longer description."""
    return JSONResponse({"id": 1})


def test_shared_statuses_follow_from_the_declaration() -> None:
    ops = Operations()
    ops.get("/things", permission=PUBLIC, responses={200: Thing}, unavailable=())(handler)
    ops.put(
        "/things/{thing_id:int}",
        permission="catalog.manage",
        body=ThingIn,
        responses={200: Thing},
        errors={409: ("thing_taken",)},
    )(handler)
    public, admin = ops
    assert public.error_codes() == {401: ["invalid_token", "token_expired", "token_revoked"]}
    assert public.security() == []
    codes = admin.error_codes()
    assert codes[400] == ["invalid_json", "invalid_field", "invalid_id"]
    assert codes[404] == ["not_found"] and codes[409] == ["thing_taken"]
    assert codes[401][0] == "authentication_required"
    assert codes[403] == ["forbidden", "csrf_failed", "csrf_required"]  # a cookie session's
    assert codes[413] == ["body_too_large"] and "database_unavailable" in codes[503]
    assert admin.security() == [{"bearer": []}, {"session": []}]
    assert admin.operation_id == "handler_put"  # the second route of one handler
    document = openapi_document(ops, {"title": "t", "version": "1"})
    put = document["paths"]["/things/{thing_id}"]["put"]
    assert put["summary"] == "Summary line." and put["description"] == "Longer description."
    assert put["parameters"][0]["schema"]["minimum"] == 1
    assert put["x-permission"] == ["catalog.manage"]
    assert document["paths"]["/things"]["get"]["x-permission"] == "public"
    assert document["components"]["schemas"]["Thing"]["additionalProperties"] is False


def test_a_route_declared_twice_is_refused() -> None:
    ops = Operations()
    for _ in range(2):
        ops.get("/things", permission=PUBLIC, responses={200: Thing}, name="things")(handler)
    with pytest.raises(ValueError, match="declared twice"):
        openapi_document(ops, {"title": "t", "version": "1"})


def test_a_declared_path_parameter_replaces_the_default_id() -> None:
    key = Param("key_id", Id, "path", required=True)
    ops = Operations()
    ops.get("/keys/{key_id:int}", permission=PUBLIC, params=(key,), responses={200: Thing})(handler)
    assert ops[0].parameters() == [key]


def test_every_route_of_the_app_is_declared() -> None:
    """An operation, a staff page (declared with what it needs in ``STAFF_PAGES``), or the
    embedded seat picker's page (checked by a website's key, docs/website-api.md)."""
    declared = {(op.path, op.method) for op in OPERATIONS}
    declared |= {(page.path, "GET") for page in STAFF_PAGES}
    declared.add((EMBED_PAGE, "GET"))
    routes = {
        (r.path, method)
        for r in ROUTES
        if isinstance(r, Route) and r.path != "/openapi.json"
        for method in r.methods or ()
        if method != "HEAD"
    }
    assert routes == declared


async def test_a_route_checks_its_declared_permission_before_its_handler() -> None:
    checked: list[Needs] = []

    def guard(needs: Needs) -> Check:
        def check(request: Request) -> None:
            checked.append(needs)
            if request.headers.get("x-pass") != "yes":
                raise Forbidden("forbidden", "no", needs=[needs])

        return check

    ops = Operations()
    ops.get("/open", permission=PUBLIC, responses={200: Thing})(handler)
    ops.get("/closed", permission="catalog.manage", responses={200: Thing}, name="closed")(handler)
    app = Starlette(
        routes=build_routes(ops, guard), exception_handlers={DomainError: domain_error_handler}
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        assert (await client.get("/open")).status_code == 200
        refused = await client.get("/closed")
        assert refused.status_code == 403 and refused.json()["error"]["needs"] == ["catalog.manage"]
        assert (await client.get("/closed", headers={"x-pass": "yes"})).status_code == 200
    assert checked == ["catalog.manage", "catalog.manage"]  # never for the public route
