"""`GET /metrics`: the service's counters and lags in Prometheus' text format.

Behind a bearer token like every endpoint but the health checks (SPEC): configure the
scraper with one of `API_TOKENS` (Prometheus: `authorization: {credentials: ...}`).
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse

from services.access.api.context import Context
from services.access.api.errors import WWW_AUTHENTICATE_HEADER
from services.common.prometheus import CONTENT_TYPE

router = APIRouter(tags=["operations"])

_EXAMPLE = (
    "# HELP access_projection_lag_positions Last published position minus the projection's.\n"
    "# TYPE access_projection_lag_positions gauge\n"
    "access_projection_lag_positions 0\n"
)


@router.get(
    "/metrics",
    response_class=PlainTextResponse,
    responses={
        200: {"content": {"text/plain": {"example": _EXAMPLE}},
              "description": "Prometheus text format 0.0.4."},
        401: {"content": {"application/json": {
                  "schema": {"$ref": "#/components/schemas/ErrorBody"}}},
              "description": "No or unknown bearer token.",
              "headers": WWW_AUTHENTICATE_HEADER},
    },
)
async def metrics(context: Context) -> PlainTextResponse:
    """Command outcomes by status and reason, dead letters, projection and relay positions
    and lags (last published position minus theirs), the store's head."""
    return PlainTextResponse(await context.metrics(), media_type=CONTENT_TYPE)
