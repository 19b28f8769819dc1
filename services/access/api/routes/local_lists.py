"""A charger's local authorization list, as OCPP `SendLocalList` for the CSMS to forward.

The list lives in a read model of its own with every version's changes, so a Full list
and a Differential since any earlier version are lookups, never a replay of the log.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query

from services.access.api.consistency import Position
from services.access.api.context import Context
from services.access.api.errors import NotFoundError
from services.access.api.local_list_models import Ocpp16LocalList, Ocpp201LocalList
from services.access.local_lists.reads import ListAt

router = APIRouter()

SinceVersion = Annotated[
    int | None,
    Query(description="The list version the charger holds (its `GetLocalListVersion`): "
          "answered with a `Differential` from it to the current version. Without it, or "
          "for a version the charger cannot hold (below 1, above the current one), a "
          "`Full` list.")]


@router.get("/v1/chargers/{charger_id}/local-list/1.6", response_model=Ocpp16LocalList,
            tags=["ocpp"])
async def local_list_16(charger_id: UUID, context: Context, position: Position,
                        since_version: SinceVersion = None) -> Ocpp16LocalList:
    """OCPP 1.6 `SendLocalList.req` for the charger's current list version."""
    found = await _list(context, charger_id, since_version, position)
    return Ocpp16LocalList(charger_id=charger_id, version=found.version, position=position,
                           request=found.ocpp16())


@router.get("/v1/chargers/{charger_id}/local-list/2.0.1", response_model=Ocpp201LocalList,
            tags=["ocpp"])
async def local_list_201(charger_id: UUID, context: Context, position: Position,
                         since_version: SinceVersion = None) -> Ocpp201LocalList:
    """OCPP 2.0.1 `SendLocalListRequest` for the charger's current list version."""
    found = await _list(context, charger_id, since_version, position)
    return Ocpp201LocalList(charger_id=charger_id, version=found.version, position=position,
                            request=found.ocpp201())


async def _list(context: Context, charger_id: UUID, since_version: int | None,
                position: int) -> ListAt:
    found = await context.local_lists.list_for(charger_id, since_version)
    if found is None:
        raise NotFoundError("unknown charger", position=position)
    return found
