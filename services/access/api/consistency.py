"""Read-your-writes: `min_position` on every GET, and the position every answer carries.

The position is taken after any wait and before the query runs; the read models only
move forward, so the answer reflects at least that position.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query

from services.access.api.context import Context
from services.access.api.errors import StaleError


async def consistent_position(
    context: Context,
    min_position: Annotated[
        int | None,
        Query(
            ge=0,
            description="Wait (bounded) until the read model has applied this position, "
            "e.g. the `position` of your command's result; 503 `stale` if it does not.",
        ),
    ] = None,
) -> int:
    projection = context.projection
    if (
        min_position is not None
        and projection.position < min_position
        and not await projection.wait_for(min_position, context.wait_timeout)
    ):
        raise StaleError("read model has not reached min_position", position=projection.position)
    return projection.position


Position = Annotated[int, Depends(consistent_position)]
