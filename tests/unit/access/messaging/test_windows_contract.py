"""The window fields of InviteUser and UpdateUserAccess: a malformed window is an `invalid`
result naming the field, never a dead letter."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from charger_access_client.access_events import AccessGranted
from charger_access_client.commands import InviteUser, UpdateUserAccess
from charger_access_client.windows import Schedule
from services.access.executor import Invalid, Valid
from services.access.messaging.intake import Record, read

ACTOR = str(uuid.uuid4())
WEEKEND = {"days": ["sat", "sun"], "from": "08:00", "until": "20:00"}


def command(type_: str, **data: Any) -> Record:
    base: dict[str, Any] = {"charger_ids": [str(uuid.uuid4())]}
    if type_ == "InviteUser":
        base |= {"invitation_id": str(uuid.uuid4()), "email": "kari@example.no"}
    else:
        base |= {"user_id": str(uuid.uuid4())}
    envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tests",
                "type": type_, "actor": ACTOR, "data": base | data}
    return Record(json.dumps(envelope).encode())


def errors(record: Record) -> dict[tuple[Any, ...], str]:
    intake = read(record)
    assert intake.dead_letter is None
    assert isinstance(intake.item, Invalid)
    assert intake.item.result.reason == "invalid"
    return {tuple(e["loc"]): e["msg"] for e in intake.item.result.errors or []}


@pytest.mark.parametrize("type_", ["InviteUser", "UpdateUserAccess"])
def test_a_full_window_is_accepted_as_given(type_: str) -> None:
    schedule = {"time_zone": "Europe/Oslo",
                "windows": [WEEKEND, {"days": ["mon"], "from": "00:00", "until": "24:00"}]}
    intake = read(command(type_, valid_from="2026-06-05T16:00:00+02:00",
                          valid_until="2026-06-08T08:00:00Z", schedule=schedule))
    assert isinstance(intake.item, Valid)
    cmd = intake.item.command
    assert isinstance(cmd, InviteUser | UpdateUserAccess)
    assert cmd.valid_from is not None
    assert cmd.valid_from.isoformat() == "2026-06-05T16:00:00+02:00"
    assert cmd.model_dump(mode="json")["schedule"] == schedule  # "from" on the wire


@pytest.mark.parametrize("type_", ["InviteUser", "UpdateUserAccess"])
def test_no_window_is_a_permanent_share(type_: str) -> None:
    intake = read(command(type_))
    assert isinstance(intake.item, Valid)
    cmd = intake.item.command
    assert isinstance(cmd, InviteUser | UpdateUserAccess)
    assert (cmd.valid_from, cmd.valid_until, cmd.schedule) == (None, None, None)


@pytest.mark.parametrize(("data", "loc", "message"), [
    ({"valid_until": "2026-06-08T08:00:00"}, ("valid_until",), "timezone"),
    ({"valid_from": "2026-06-08T08:00:00+02:00", "valid_until": "2026-06-08T06:00:00Z"},
     ("valid_until",), "must be after valid_from"),
    ({"valid_from": "2026-06-08T08:00:00Z", "valid_until": "2026-06-08T08:00:00Z"},
     ("valid_until",), "must be after valid_from"),
    ({"schedule": {"time_zone": "Europe/Atlantis", "windows": [WEEKEND]}},
     ("schedule", "time_zone"), "not a known IANA time zone"),
    ({"schedule": {"time_zone": "../../etc/passwd", "windows": [WEEKEND]}},
     ("schedule", "time_zone"), "not a known IANA time zone"),
    ({"schedule": {"time_zone": "Europe/Oslo", "windows": [WEEKEND] * 15}},
     ("schedule", "windows"), "at most 14"),
    ({"schedule": {"time_zone": "Europe/Oslo", "windows": []}},
     ("schedule", "windows"), "at least 1"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat", "lør"], "from": "08:00", "until": "20:00"}]}},
     ("schedule", "windows", 0, "days", 1), "'mon'"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat", "sat"], "from": "08:00", "until": "20:00"}]}},
     ("schedule", "windows", 0, "days"), "must not repeat"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": [], "from": "08:00", "until": "20:00"}]}},
     ("schedule", "windows", 0, "days"), "at least 1"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat"], "from": "20:00", "until": "08:00"}]}},
     ("schedule", "windows", 0, "until"), "must be after from"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat"], "from": "08:00", "until": "08:00"}]}},
     ("schedule", "windows", 0, "until"), "must be after from"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat"], "from": "24:00", "until": "24:00"}]}},
     ("schedule", "windows", 0, "from"), "pattern"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat"], "from": "8:00", "until": "24:30"}]}},
     ("schedule", "windows", 0, "from"), "pattern"),
    ({"schedule": {"time_zone": "Europe/Oslo",
                   "windows": [{"days": ["sat"], "from_": "08:00", "until": "20:00"}]}},
     ("schedule", "windows", 0, "from"), "required"),
])
@pytest.mark.parametrize("type_", ["InviteUser", "UpdateUserAccess"])
def test_a_bad_window_is_invalid_with_its_field(
    type_: str, data: dict[str, Any], loc: tuple[Any, ...], message: str,
) -> None:
    found = errors(command(type_, **data))
    assert loc in found, found
    assert message in found[loc]


def test_a_schedule_round_trips_through_the_published_event_shape() -> None:
    schedule = Schedule.model_validate({"time_zone": "Europe/Oslo", "windows": [WEEKEND]})
    event = AccessGranted.model_validate({
        "charger_id": uuid.uuid4(), "user_id": uuid.uuid4(), "level": "charge",
        "source": {"kind": "update"}, "schedule": schedule.model_dump(),
        "valid_until": "2026-06-08T08:00:00+02:00"})
    dumped = event.model_dump(mode="json")
    assert dumped["schedule"] == {"time_zone": "Europe/Oslo", "windows": [WEEKEND]}
    assert dumped["valid_until"] == "2026-06-08T08:00:00+02:00"
    assert AccessGranted.model_validate(dumped) == event
