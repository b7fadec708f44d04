"""The indexed router (server/platform/routing.py) sends every request to the route
Starlette's own walk over the same routes would: the first in order that fully matches,
or none (then Starlette's 405, redirect and 404 answer as before)."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Match
from starlette.types import Scope

from server.app import ROUTES
from server.platform.routing import IndexedRouter

PARAM = re.compile(r"{[^}]*}")
TEMPLATES = [path for route in ROUTES if isinstance(path := getattr(route, "path", None), str)]
METHODS = st.sampled_from(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"])
VALUE = st.one_of(
    st.integers(min_value=0, max_value=10**12).map(str),
    st.text("abcdefghij0123456789-_.%", min_size=0, max_size=12),
    st.sampled_from(["holds", "scan", "batch", "api", "", "/", "a/b", "..", "0"]),
)


def linear(routes: list[BaseRoute], scope: Scope) -> BaseRoute | None:
    for route in routes:
        if route.matches(scope)[0] is Match.FULL:
            return route
    return None


@st.composite
def paths(draw: st.DrawFn) -> str:
    template = draw(st.sampled_from(TEMPLATES))
    path = PARAM.sub(lambda _: draw(VALUE), template)
    mutation = draw(st.sampled_from(["none", "slash", "cut", "extra", "case"]))
    if mutation == "slash":
        path += "/"
    elif mutation == "cut":
        path = path[: draw(st.integers(0, len(path)))]
    elif mutation == "extra":
        path += "/" + draw(VALUE)
    elif mutation == "case":
        path = path.upper()
    return path or "/"


def scope(method: str, path: str) -> Scope:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


@given(method=METHODS, path=paths())
def test_the_index_picks_the_route_the_walk_picks(method: str, path: str) -> None:
    routes = list(ROUTES)
    found = IndexedRouter(routes).full_match(scope(method, path))
    assert (found[0] if found else None) is linear(routes, scope(method, path))


def test_the_hot_paths_find_their_routes() -> None:
    router = IndexedRouter(list(ROUTES))
    for method, path, template in [
        ("POST", "/api/scan", "/api/scan"),
        ("POST", "/api/sessions/12/holds", "/api/sessions/{session_id:int}/holds"),
        ("GET", "/", None),
    ]:
        found = router.full_match(scope(method, path))
        assert found is not None
        if template is not None:
            assert getattr(found[0], "path", None) == template
        assert found[0] is linear(list(ROUTES), scope(method, path))


def test_routes_added_later_are_indexed() -> None:
    router = IndexedRouter([])
    assert router.full_match(scope("GET", "/api/late/1")) is None
    router.add_route("/api/late/{n:int}", lambda request: PlainTextResponse("late"))
    found = router.full_match(scope("GET", "/api/late/1"))
    assert found is not None and found[1]["path_params"] == {"n": 1}
