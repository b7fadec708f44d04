"""The static clients as the browser caches them, and the compression of every answer.

Static files carry their ``ETag`` (and ``Last-Modified``) and ``Cache-Control: no-cache``:
the browser keeps them and asks each time whether they changed, a ``304`` without a body
when not. Versioned (hashed) file names with a year-long ``immutable`` would spare even those
requests, but the pages are plain ES modules that import each other by name (no build
step): versioning one file means rewriting every ``import`` that names it, so we keep names
and let the ETag decide (docs/architecture.md, "Static files and compression").

``compression`` is Starlette's ``GZipMiddleware`` for HTTP answers of 500 bytes and more,
streamed ones included (CSV exports: each chunk is flushed compressed as it comes). The
WebSocket never passes through it (it is not HTTP, and ``/ws`` is routed before the app);
formats that are compressed already (PDF, XLSX, images) are sent as they are.
"""

from __future__ import annotations

import os

from starlette.middleware import Middleware
from starlette.middleware.gzip import DEFAULT_EXCLUDED_CONTENT_TYPES, GZipMiddleware
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

CACHE_CONTROL = "no-cache"
"""Keep, but revalidate (``ETag``) before each use."""

ALREADY_COMPRESSED = (
    *DEFAULT_EXCLUDED_CONTENT_TYPES,
    "application/pdf",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
)


class ClientFiles(StaticFiles):
    """``StaticFiles`` whose answers (200 and 304) say how to cache them."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = CACHE_CONTROL
        return response


def compression() -> Middleware:
    return Middleware(
        GZipMiddleware, minimum_size=500, compresslevel=6, exclude_content_types=ALREADY_COMPRESSED
    )
