"""When a share is in effect, on the wire: `valid_from`, `valid_until` and a weekly
`schedule` (SPEC "Time-bound and recurring shares").

Three flat optional fields on commands, events and `why` entries; all absent (None) is a
permanent share. The static rules are validation errors here, with the field they concern;
"`valid_until` after the command's time" needs the clock, so the handler checks it.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
)

MAX_WINDOWS = 14
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
_ZONE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_+\-]*(/[A-Za-z0-9_+\-]+)*$")


class ScheduleWindow(BaseModel):
    """On these days, from one wall-clock time until another."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    days: list[Day] = Field(
        min_length=1, max_length=7, description="Days it opens on, each at most once.",
        examples=[["sat", "sun"]],
    )
    from_: str = Field(
        alias="from", pattern=r"^([01]\d|2[0-3]):[0-5]\d$",
        description="Wall-clock time it opens, `HH:MM` (00:00-23:59).", examples=["08:00"],
    )
    until: str = Field(
        pattern=r"^(([01]\d|2[0-3]):[0-5]\d|24:00)$",
        description="Wall-clock time it closes, `HH:MM`, after `from`; `24:00` is the midnight "
        "ending the day. Windows that touch (`sun` until `24:00`, `mon` from `00:00`) are one.",
        examples=["20:00", "24:00"],
    )

    @field_validator("days")
    @classmethod
    def _days_once(cls, days: list[str]) -> list[str]:
        if len(set(days)) != len(days):
            raise ValueError("must not repeat a day")
        return days

    @field_validator("until")
    @classmethod
    def _after_from(cls, until: str, info: ValidationInfo) -> str:
        start = info.data.get("from_")
        if start is not None and until <= start:  # "HH:MM" strings sort as times
            raise ValueError(f"must be after from ({start})")
        return until


class Schedule(BaseModel):
    """Weekly windows in the wall-clock time of an IANA zone (daylight saving honoured)."""

    model_config = ConfigDict(extra="forbid", frozen=True, serialize_by_alias=True)

    time_zone: str = Field(
        max_length=64, description="IANA time zone name the times are read in.",
        examples=["Europe/Oslo"],
    )
    windows: list[ScheduleWindow] = Field(
        min_length=1, max_length=MAX_WINDOWS, description=f"1 to {MAX_WINDOWS} windows."
    )

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, name: str) -> str:
        if not _ZONE_NAME.match(name) or not _zone_exists(name):
            raise ValueError("is not a known IANA time zone (e.g. Europe/Oslo)")
        return name


def _zone_exists(name: str) -> bool:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


ValidFrom = Annotated[
    AwareDatetime | None,
    Field(description="In effect from this instant (RFC 3339 with an offset); none: already.",
          examples=["2026-06-05T16:00:00+02:00"]),
]
ValidUntil = Annotated[
    AwareDatetime | None,
    Field(description="In effect until this instant, exclusive (RFC 3339 with an offset); "
          "after `valid_from` and after the command's time. None: no end.",
          examples=["2026-06-08T08:00:00+02:00"]),
]
ShareSchedule = Annotated[
    Schedule | None,
    Field(description="In effect only inside these weekly windows; none: at any time.",
          examples=[{"time_zone": "Europe/Oslo",
                     "windows": [{"days": ["sat", "sun"], "from": "08:00", "until": "20:00"}]}]),
]


def until_after_from(valid_until: datetime | None, info: ValidationInfo) -> datetime | None:
    """`valid_until` must come after `valid_from` (a field validator for models with both)."""
    valid_from = info.data.get("valid_from")
    if valid_until is not None and valid_from is not None and valid_until <= valid_from:
        raise ValueError("must be after valid_from")
    return valid_until
