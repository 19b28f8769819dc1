"""Every error the query API answers, mapped to HTTP in one place.

Routes and dependencies raise `ApiError` subclasses; FastAPI's own validation errors and
Starlette's 404/405 are reshaped here too, so every error body is
`{"error": <code>, "detail": ..., ...}` and clients need one parser.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

RETRY_AFTER_SECONDS = "1"
"""What a 503 tells a client to wait: the read model is usually a few ms behind, and a
retry with the same `min_position` waits again on the server side anyway."""

RETRY_AFTER_HEADER: dict[str, Any] = {"Retry-After": {
    "description": "Seconds to wait before asking again.",
    "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
"""The `Retry-After` header as the OpenAPI document declares it on every 503."""
WWW_AUTHENTICATE_HEADER: dict[str, Any] = {"WWW-Authenticate": {
    "description": "`Bearer`: the scheme the token goes in.", "schema": {"type": "string"}}}


class ApiError(Exception):
    status = 500
    code = "internal"

    def __init__(self, detail: Any = None, **extra: Any) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra

    def headers(self) -> dict[str, str] | None:
        """HTTP headers the status calls for (RFC 9110)."""
        return None

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"error": self.code, "detail": self.detail}
        body.update(self.extra)
        return body


class UnauthorizedError(ApiError):
    status = 401
    code = "unauthorized"

    def headers(self) -> dict[str, str] | None:
        return {"WWW-Authenticate": "Bearer"}


class ForbiddenError(ApiError):
    """A known token, but not one that opens this endpoint (a query token on the audit ones)."""

    status = 403
    code = "forbidden"


class NotFoundError(ApiError):
    status = 404
    code = "not_found"


class InvalidError(ApiError):
    status = 422
    code = "invalid"


class StaleError(ApiError):
    """The read model did not reach `min_position` in time; `position` says where it is."""

    status = 503
    code = "stale"

    def headers(self) -> dict[str, str] | None:
        return {"Retry-After": RETRY_AFTER_SECONDS}


def invalid_param(name: str, message: str) -> InvalidError:
    """A 422 naming one query parameter, in the same shape as pydantic's errors."""
    return InvalidError([{"loc": ["query", name], "msg": message, "type": "value_error"}])


async def _api_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(jsonable_encoder(exc.body()), exc.status, headers=exc.headers())


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    detail = [
        {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
        for e in exc.errors()
    ]
    return JSONResponse({"error": "invalid", "detail": detail}, 422)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed"}
    code = codes.get(exc.status_code, "http_error")
    # Starlette's 405 names the route's methods in `Allow` (RFC 9110 requires it): keep it.
    return JSONResponse({"error": code, "detail": exc.detail}, exc.status_code,
                        headers=exc.headers)


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
