"""Staff pages: each declares what it needs, and the server answers for it before the file.

Without a valid staff session the answer is 303 to ``/signin.html?next=<page>``; with one
whose permissions do not include the page's, a 403 page that says so (in French and
English) and links to the staff home. Public pages (the shop, the sign-in page, the scanner,
which an enrolled device opens with its own token) are served by the static files as they
are. The data a page shows is guarded by the API; this guard spares staff a page that can
only fail, and keeps the back office out of sight.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from server.identity.permissions import Needs, Permission, any_of
from server.web.api import SIGNED_IN


@dataclass(frozen=True, slots=True)
class StaffPage:
    path: str
    needs: Needs | str


STAFF_PAGES: tuple[StaffPage, ...] = (
    StaffPage("/staff.html", SIGNED_IN),
    StaffPage("/pos.html", Permission.SELL),
    StaffPage("/bar.html", (Permission.WALLET_DEBIT, Permission.BAR_SELL)),
    StaffPage("/dashboard.html", (Permission.STATS_READ, Permission.DOOR_MANAGE)),
    StaffPage("/accounting.html", Permission.ACCOUNTING_READ),
    StaffPage("/stats.html", Permission.STATS_READ),
    StaffPage("/admin-users.html", Permission.USERS_MANAGE),
    StaffPage("/admin-devices.html", Permission.DEVICES_MANAGE),
    StaffPage("/admin-audit.html", Permission.ADMIN),
    StaffPage("/admin-api-keys.html", Permission.ADMIN),
    StaffPage("/admin-events.html", Permission.CATALOG_MANAGE),
    StaffPage("/admin-rooms.html", Permission.CATALOG_MANAGE),
)
"""Every page that needs a signed-in member of staff, with what it needs."""

_NOT_ALLOWED = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Accès refusé · Not allowed</title><link rel="stylesheet" href="/style.css"></head>
<body><main class="not-allowed">
<h1 lang="fr">Accès refusé</h1>
<p lang="fr">Vos rôles ne donnent pas accès à cette page (il faut : {needs}).</p>
<h1 lang="en">Not allowed</h1>
<p lang="en">Your roles do not open this page (it needs: {needs}).</p>
<p><a href="/staff.html">Accueil du personnel · Staff home</a></p>
</main></body></html>
"""


def page_routes(static: Path) -> list[Route]:
    """A route for each staff page (mounted before the static files)."""
    return [_route(page, static / page.path.lstrip("/")) for page in STAFF_PAGES]


def _route(page: StaffPage, file: Path) -> Route:
    permissions = () if page.needs == SIGNED_IN else any_of(page.needs)
    needs = ", ".join(p.value for p in permissions) or "a staff sign-in"
    present = file.is_file()  # the pages of a context not built yet answer 404

    async def serve(request: Request) -> Response:
        principal = request.state.principal
        if principal.anonymous:
            target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            return RedirectResponse(f"/signin.html?next={quote(target, safe='/')}", 303)
        if permissions and not principal.can(*permissions):
            return HTMLResponse(_NOT_ALLOWED.format(needs=html.escape(needs)), 403)
        if not present:
            return HTMLResponse("<!doctype html><title>404</title><p>Not found</p>", 404)
        return FileResponse(file, headers={"Cache-Control": "no-store"})

    return Route(page.path, serve, methods=["GET", "HEAD"], name=f"page:{page.path}")
