"""The query API's composition: routes, auth, error mapping, and what they run against.

`build_app` needs nothing at run time (the OpenAPI document is generated from it);
`create_app` attaches the pool, settings, projection position and readiness checks.
"""

from __future__ import annotations

from typing import Any

import asyncpg
from fastapi import Depends, FastAPI
from fastapi.responses import JSONResponse

from services.access.api.auth import require_token
from services.access.api.context import Metrics, ReadContext, Readiness, ReadPosition
from services.access.api.errors import (
    RETRY_AFTER_HEADER,
    WWW_AUTHENTICATE_HEADER,
    install_error_handlers,
)
from services.access.api.fast_check import AccessCheckFastPath
from services.access.api.models import ErrorBody
from services.access.api.routes import access, audit, catalog, health, metrics
from services.access.api.routes import charge_keys as charge_key_routes
from services.access.api.routes import local_lists as local_list_routes
from services.access.config import AccessSettings
from services.access.metrics import AccessMetrics
from services.access.projection.sql import DEFAULT_SCHEMA, checked_schema

DEFAULT_WAIT_TIMEOUT = 5.0

_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No or unknown bearer token.",
          "headers": WWW_AUTHENTICATE_HEADER},
    404: {"model": ErrorBody, "description": "Unknown id."},
    422: {"model": ErrorBody, "description": "Malformed parameters (`error`: `invalid`)."},
    503: {"model": ErrorBody, "description": "`stale`: `min_position` not reached in time.",
          "headers": RETRY_AFTER_HEADER},
}


def build_app() -> FastAPI:
    app = FastAPI(
        title="charger-access query API",
        version="1",
        description="Who may use which charger, and why. Every answer carries the read "
        "model's `position`; pass `min_position` to read your own writes.",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )
    install_error_handlers(app)
    app.include_router(health.router)
    secured = [Depends(require_token)]
    app.include_router(access.router, dependencies=secured, responses=_ERRORS)
    app.include_router(catalog.router, dependencies=secured, responses=_ERRORS)
    app.include_router(charge_key_routes.router, dependencies=secured, responses=_ERRORS)
    app.include_router(local_list_routes.router, dependencies=secured, responses=_ERRORS)
    app.include_router(metrics.router, dependencies=secured)
    app.include_router(audit.router)  # auditor tokens only: its own dependency

    @app.get("/openapi.json", include_in_schema=False, dependencies=secured)
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    return app


def create_app(
    pool: asyncpg.Pool,
    settings: AccessSettings,
    projection: ReadPosition,
    readiness: Readiness,
    *,
    schema: str = DEFAULT_SCHEMA,
    wait_timeout: float = DEFAULT_WAIT_TIMEOUT,
    metrics: Metrics | None = None,
    fast_check: bool = True,
) -> FastAPI:
    """The query API over the read models in `schema`, answering at `projection`'s position.

    `wait_timeout` bounds how long a `min_position` request waits before 503 `stale`.
    `metrics` renders `GET /metrics` (the service passes `services.access.metrics`'
    `service_metrics`); without it, only the projection's position is reported.
    The pool is the caller's: the app neither opens nor closes it. `fast_check` answers
    the everyday `GET /v1/access/check` without FastAPI's machinery (`fast_check.py`);
    off, every request takes the app's own path (the reference the tests compare with).
    """
    checked_schema(schema)
    app = build_app()
    app.state.read = ReadContext.build(
        pool,
        settings,
        projection,
        readiness,
        schema=schema,
        wait_timeout=wait_timeout,
        metrics=metrics or AccessMetrics(projection).render,
    )
    if fast_check:
        app.add_middleware(AccessCheckFastPath)
    return app
