"""The `LocalListChanged` CloudEvent on `access.local-lists` (SPEC "OCPP: ... local lists").

The payloads are OCPP's own messages, kept as objects here: their schemas are OCPP's
(`SendLocalList.req` 1.6, `SendLocalListRequest` 2.0.1), which a CSMS already validates.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field


class LocalListChangedData(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    charger_id: UUID
    version: int = Field(ge=1, description="The list's new version (1 at registration).")
    previous_version: int = Field(ge=0, description="`version` - 1; 0: the empty list.")
    ocpp16: dict[str, Any] = Field(
        description="OCPP 1.6 `SendLocalList.req`, `updateType` `Differential` from "
        "`previous_version`, for a CSMS to forward unchanged."
    )
    ocpp201: dict[str, Any] = Field(
        description="OCPP 2.0.1 `SendLocalListRequest`, the same Differential."
    )


class LocalListChanged(BaseModel):
    """One version of a charger's local list, on `access.local-lists` (key = charger id)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: UUID = Field(description="Stable per charger and version: consumers dedupe on it.")
    source: str = Field(default="charger-access", description="Who published it.")
    type: Literal["LocalListChanged"] = "LocalListChanged"
    subject: str = Field(description="The charger id.")
    time: datetime = Field(description="When the list's content changed.")
    datacontenttype: Literal["application/json"] = "application/json"
    data: LocalListChangedData
