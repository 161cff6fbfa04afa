"""Every error as OpenAI's JSON: `{"error": {"message", "type", "param", "code"}}`.

Messages never quote the request's Authorization header, and a bug shows its type only
(NEWSRAG_DEBUG=1 logs the traceback).
"""

from __future__ import annotations

import logging
import os
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from newsrag.errors import (
    ConfigError,
    IngestError,
    InputError,
    ModelError,
    NewsragError,
    NotFoundError,
    StoreBusyError,
    one_line,
)

log = logging.getLogger("newsrag.serve")

# HTTP status -> OpenAI's error type for it.
_TYPES = {400: "invalid_request_error", 401: "authentication_error",
          403: "permission_error", 404: "not_found_error", 405: "invalid_request_error",
          409: "conflict_error", 413: "request_too_large", 415: "invalid_request_error",
          422: "invalid_request_error", 429: "rate_limit_error", 503: "service_unavailable"}


class ApiError(Exception):
    """An expected failure with its HTTP status, e.g. ApiError(404, "no such model", code=...)."""

    def __init__(self, status: int, message: str, code: str | None = None,
                 param: str | None = None, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.message, self.code, self.param = status, message, code, param
        self.headers = headers or {}


def error_body(status: int, message: str, code: str | None = None,
               param: str | None = None) -> dict[str, Any]:
    kind = _TYPES.get(status, "server_error" if status >= 500 else "invalid_request_error")
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def error_response(status: int, message: str, code: str | None = None,
                   param: str | None = None, headers: dict[str, str] | None = None
                   ) -> JSONResponse:
    return JSONResponse(error_body(status, message, code, param), status_code=status,
                        headers=headers)


def as_api_error(exc: Exception) -> ApiError:
    """The HTTP error for an exception raised while answering."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, NotFoundError):
        return ApiError(404, one_line(exc), "not_found")
    if isinstance(exc, StoreBusyError):
        return ApiError(503, one_line(exc), "store_busy", headers={"Retry-After": "5"})
    if isinstance(exc, ModelError):
        return ApiError(503, one_line(exc), "model_unavailable")
    if isinstance(exc, ConfigError | IngestError | InputError):
        return ApiError(400, one_line(exc), "invalid_value")
    if isinstance(exc, NewsragError):
        return ApiError(500, one_line(exc), "newsrag_error")
    if os.environ.get("NEWSRAG_DEBUG") == "1":
        log.exception("request failed")
    return ApiError(500, f"internal error: {type(exc).__name__} (set NEWSRAG_DEBUG=1 on the "
                    "server for the traceback)", "internal_error")


def _validation_message(exc: RequestValidationError) -> tuple[str, str | None]:
    """The first problem, named by its place in the body ("messages.0.role: ...")."""
    errors = exc.errors()
    if not errors:
        return "invalid request", None
    first = errors[0]
    loc = [str(p) for p in first.get("loc", ()) if p not in ("body", "query", "path")]
    if first.get("type") == "json_invalid":
        return "the request body is not valid JSON", None
    where = ".".join(loc)
    more = f" (and {len(errors) - 1} more problems)" if len(errors) > 1 else ""
    return f"{where or 'request'}: {first.get('msg', 'invalid')}{more}", where or None


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api(request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.message, exc.code, exc.param, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation_message(exc)
        return error_response(400, message, "invalid_request", param)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no route {request.method} {request.url.path}"
        return error_response(exc.status_code, message, None, None,
                              dict(exc.headers or {}))

    @app.exception_handler(NewsragError)
    async def _newsrag(request: Request, exc: NewsragError) -> JSONResponse:
        error = as_api_error(exc)
        return error_response(error.status, error.message, error.code, None, error.headers)

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        error = as_api_error(exc)
        return error_response(error.status, error.message, error.code)
