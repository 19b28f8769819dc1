"""Liveness and readiness, without authentication (probes carry no tokens)."""

from __future__ import annotations

import asyncio
import logging

import asyncpg
from fastapi import APIRouter
from fastapi.responses import JSONResponse

from services.access.api.context import Context
from services.access.api.errors import RETRY_AFTER_HEADER, RETRY_AFTER_SECONDS
from services.access.api.models import Health, Readiness
from services.common.connection_lost import CONNECTION_LOST

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])

DB_CHECK_TIMEOUT = 2.0


@router.get("/healthz", response_model=Health)
async def healthz() -> Health:
    """The process is alive and serving HTTP."""
    return Health()


@router.get("/readyz", response_model=Readiness, responses={503: {
    "model": Readiness, "description": "Not ready: a check failed (see `checks`).",
    "headers": RETRY_AFTER_HEADER}})
async def readyz(context: Context) -> JSONResponse:
    """200 only when every check of the service and the database answer; else 503."""
    try:
        checks = dict(await context.readiness())
    except Exception:  # a broken check must read as "not ready", never as a crash
        log.exception("readiness check failed")
        checks = {"readiness": False}
    checks["database"] = await _database_answers(context.pool)
    ready = all(checks.values())
    body = Readiness(ready=ready, checks=checks, position=context.projection.position)
    if ready:
        return JSONResponse(body.model_dump())
    return JSONResponse(body.model_dump(), 503, headers={"Retry-After": RETRY_AFTER_SECONDS})


async def _database_answers(pool: asyncpg.Pool) -> bool:
    try:
        async with asyncio.timeout(DB_CHECK_TIMEOUT):
            return bool(await pool.fetchval("SELECT true"))
    except CONNECTION_LOST:
        return False
