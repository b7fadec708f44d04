"""The HTTP edge of domain errors: each kind has its status; the body is always
``{"error": {"code", "message", ...}}``."""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from server.platform.errors import (
    Conflict,
    DomainError,
    Forbidden,
    Gone,
    Invalid,
    Mismatch,
    NotFound,
    RateLimited,
    TooLarge,
    Unauthenticated,
    Unavailable,
)

log = logging.getLogger(__name__)

# Most specific first: the first class the error is an instance of gives the status.
STATUS: tuple[tuple[type[DomainError], int], ...] = (
    (TooLarge, 413),
    (Mismatch, 422),
    (Invalid, 400),
    (Unauthenticated, 401),
    (Forbidden, 403),
    (NotFound, 404),
    (Conflict, 409),
    (Gone, 410),
    (RateLimited, 429),
    (Unavailable, 503),
)


def status_of(exc: DomainError) -> int:
    for kind, status in STATUS:
        if isinstance(exc, kind):
            return status
    return 400


def error_response(exc: DomainError) -> JSONResponse:
    status = status_of(exc)
    headers = None
    if status == 503:
        headers = {"Retry-After": "1"}
    elif status == 429:
        headers = {"Retry-After": str(exc.details.get("retry_after", 1))}
    return JSONResponse(exc.body(), status_code=status, headers=headers)


async def domain_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    return error_response(exc)


async def http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    return JSONResponse({"error": {"code": code, "message": str(exc.detail)}}, exc.status_code)


async def server_error(request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return JSONResponse({"error": {"code": "internal_error", "message": "internal error"}}, 500)
