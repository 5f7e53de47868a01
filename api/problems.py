"""Errors as RFC 9457 problem details (``application/problem+json``).

Every :class:`transit.errors.TransitError` becomes its ``http_status`` with ``type``,
``title``, ``status``, ``detail`` (the one-line message), and ``where``/``fix`` when known.
Request validation errors are 422 with the failing fields; unknown routes 404, wrong
methods 405. Bad input never gives a 500.
"""

from __future__ import annotations

import logging
import re
from typing import Any, cast

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from transit.errors import TransitError

__all__ = ["PROBLEM_JSON", "AuthError", "ForbiddenError", "NotReadyError",
           "install_problem_handlers", "problem_response"]

PROBLEM_JSON = "application/problem+json"
_log = logging.getLogger("transit.api")


class AuthError(TransitError):
    """No API key, or a key that is unknown or revoked."""

    http_status = 401


class ForbiddenError(TransitError):
    """The key's role may not do this."""

    http_status = 403


def _slug(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", name.removesuffix("Error")).lower() or "error"


def problem_response(status: int, title: str, detail: str, *, type_: str | None = None,
                     headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """A problem+json response."""
    body: dict[str, Any] = {"type": type_ or "about:blank", "title": title, "status": status,
                            "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def transit_problem(error: TransitError, **extra: Any) -> JSONResponse:
    """The problem response of a project error."""
    name = type(error).__name__
    headers = {"WWW-Authenticate": "X-API-Key"} if isinstance(error, AuthError) else None
    return problem_response(error.http_status, _title(name), error.one_line(),
                            type_=f"/problems/{_slug(name)}", headers=headers,
                            where=error.where, fix=error.fix, **extra)


_TITLES = {"AuthError": "Unauthorized", "ForbiddenError": "Forbidden",
           "NotFoundError": "Not found", "InputError": "Bad input",
           "FormatError": "Unreadable format", "TooLargeError": "Too large",
           "FeedError": "Unusable feed", "BuildError": "Build failed",
           "StoreError": "Store unavailable", "NotReadyError": "Not ready"}


def _title(name: str) -> str:
    return _TITLES.get(name) or _slug(name).replace("-", " ").capitalize()


async def _on_transit_error(request: Request, error: Exception) -> JSONResponse:
    return transit_problem(cast(TransitError, error), instance=request.url.path)


async def _on_validation_error(request: Request, error: Exception) -> JSONResponse:
    raw = cast(RequestValidationError, error).errors()
    errors = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg", "")),
               "type": str(e.get("type", ""))} for e in raw]
    first = errors[0] if errors else {"loc": [], "msg": "invalid request"}
    where = ".".join(first["loc"])
    return problem_response(422, "Invalid request", f"{where}: {first['msg']}",
                            type_="/problems/validation", instance=request.url.path,
                            errors=errors)


async def _on_http_error(request: Request, error: Exception) -> JSONResponse:
    error = cast(StarletteHTTPException, error)
    title = {404: "Not found", 405: "Method not allowed"}.get(error.status_code, "HTTP error")
    return problem_response(error.status_code, title, str(error.detail),
                            instance=request.url.path, headers=dict(error.headers or {}))


async def _on_unexpected(request: Request, error: Exception) -> JSONResponse:
    _log.exception("unexpected error on %s", request.url.path, exc_info=error)
    return problem_response(500, "Internal error", "the server failed; the log has details",
                            instance=request.url.path)


def install_problem_handlers(app: FastAPI) -> None:
    """Register every handler on ``app``."""
    app.add_exception_handler(TransitError, _on_transit_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_error)
    app.add_exception_handler(Exception, _on_unexpected)


class NotReadyError(TransitError):
    """The job that produces this answer has not finished (or failed)."""

    http_status = 409
