"""Starlette's router with an index: the routes a path can match, found by its first two
segments instead of trying every route's regular expression in turn.

Starlette walks its route list in order and runs each route's regex until one matches
fully. With 169 routes a door scan (``/api/scan``) tries about 50 of them and a hold about
45: some 5 % of the server's CPU per request in the hold benchmark's profile
(``docs/benchmarks.md``). A route can only match a path that starts with its *static
prefix* (its path up to the first ``{``), so the index files each route under the first
two complete segments of that prefix (``/api/sessions/{id}/holds`` under ``api``,
``sessions``); a route whose prefix has fewer (``/``, ``/{page}``) is a candidate for every
path. The candidates of a path are tried in the routes' own order, so the first full match
is the one Starlette would pick; anything else (a method that does not match: 405, a
missing slash: redirect, nothing: 404) is left to Starlette's own walk, unchanged.
"""

from __future__ import annotations

from starlette._utils import get_route_path
from starlette.routing import BaseRoute, Match, Router
from starlette.types import Receive, Scope, Send

Key = tuple[str, str]


def route_key(route: BaseRoute) -> Key | None:
    """The first two complete segments every path this route matches starts with, or None
    when its static prefix has fewer (or it has no path, e.g. a ``Host``)."""
    path = getattr(route, "path", None)
    if not isinstance(path, str) or not path.startswith("/"):
        return None
    static, brace, _ = path.partition("{")
    segments = static.split("/")[1:]
    if brace:  # the last segment runs into a parameter: it is not complete
        segments = segments[:-1]
    return (segments[0], segments[1]) if len(segments) >= 2 and all(segments[:2]) else None


def path_key(path: str) -> Key | None:
    segments = path.split("/", 3)
    return (segments[1], segments[2]) if len(segments) >= 3 else None


class IndexedRouter(Router):
    """A ``Router`` whose full-match lookup tries only the routes a path can match."""

    _indexed: int = -1
    _candidates: dict[Key, list[BaseRoute]]
    _anywhere: list[BaseRoute]

    def _index(self) -> None:
        anywhere: list[int] = []
        by_key: dict[Key, list[int]] = {}
        for i, route in enumerate(self.routes):
            key = route_key(route)
            (anywhere if key is None else by_key.setdefault(key, [])).append(i)
        self._candidates = {
            key: [self.routes[i] for i in sorted(indices + anywhere)]
            for key, indices in by_key.items()
        }
        self._anywhere = [self.routes[i] for i in anywhere]
        self._indexed = len(self.routes)

    def full_match(self, scope: Scope) -> tuple[BaseRoute, Scope] | None:
        """The first route (in the routes' order) that fully matches, with its child scope;
        None when no route does (Starlette's own walk then answers 405, a redirect or 404)."""
        if self._indexed != len(self.routes):  # built once (and again if routes are added)
            self._index()
        key = path_key(get_route_path(scope))
        candidates = self._candidates.get(key, self._anywhere) if key else self._anywhere
        for route in candidates:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return route, child_scope
        return None

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        found = self.full_match(scope) if scope["type"] != "lifespan" else None
        if found is None:
            await super().app(scope, receive, send)
            return
        route, child_scope = found
        scope.setdefault("router", self)
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
