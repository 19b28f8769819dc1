"""Events stored by an older version stay readable: a v1 ChargerRegistered (stored before
chargers had a cloud-connection flag) is upcast on read, into the aggregate and onto the
wire; so are the v1 share and invitation events from before time-bound shares."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.access.domain.base import Cause
from services.access.domain.charger import Charger
from services.access.domain.invitation import Invitation
from services.access.domain.windows import PERMANENT
from services.access.eventlog.translation import published
from services.access.store.application import memory_store

FIXTURE = Path(__file__).parent / "fixtures" / "charger_registered_v1.json"


def stored_v1() -> StoredEvent:
    raw = json.loads(FIXTURE.read_text())
    assert "connected" not in raw["state"]
    assert "class_version" not in raw["state"]
    return StoredEvent(originator_id=UUID(raw["originator_id"]), originator_version=1,
                       topic=raw["topic"], state=json.dumps(raw["state"]).encode())


def test_v1_charger_registered_is_read_as_v2_and_connected() -> None:
    store = memory_store()
    event = store.mapper.to_domain_event(stored_v1())
    assert isinstance(event, Charger.ChargerRegistered)
    assert event.connected is True
    assert event.serial_number == "WB-2019-000123"


def test_v1_event_rebuilds_the_aggregate_and_publishes_current_shape() -> None:
    store = memory_store()
    store.recorder.insert_events([stored_v1()])
    charger = store.load(UUID("6b1f0c2e-57a4-4f8a-9d0e-3c2b1a0f9e11"))
    assert isinstance(charger, Charger)
    assert charger.connected is True
    envelope = published(1, store.mapper.to_domain_event(stored_v1())).envelope
    assert envelope.type == "ChargerRegistered"
    assert envelope.data["connected"] is True
    assert envelope.actor == "0d6c1e0a-8f5b-4c61-9d3c-6f0a2b7e4c21"


def test_new_events_are_stored_as_v2() -> None:
    store = memory_store()
    cause = Cause("actor", "command", datetime.now(UTC))
    charger = Charger.register(UUID(int=1), "SN-1", None, UUID(int=2), UUID(int=2), cause)
    stored = store.mapper.to_stored_event(charger.collect_events()[0])
    assert json.loads(stored.state)["class_version"] == 2


def test_v1_ownership_transfer_reads_without_a_previous_owner() -> None:
    store = memory_store()
    state = {"timestamp": {"_type_": "datetime_iso", "_data_": "2026-03-04T10:00:00+00:00"},
             "actor": "a", "command_id": "c",
             "charger_id": {"_type_": "uuid_hex", "_data_": "6b1f0c2e57a44f8a9d0e3c2b1a0f9e11"},
             "charger": {"charger_id": "6b1f0c2e-57a4-4f8a-9d0e-3c2b1a0f9e11", "name": None,
                         "serial_number": "WB-1"},
             "from_owner_id": {"_type_": "uuid_hex", "_data_": "0d6c1e0a8f5b4c619d3c6f0a2b7e4c21"},
             "to_owner": {"user_id": "0d6c1e0a-8f5b-4c61-9d3c-6f0a2b7e4c22", "email": "new@example.no",
                          "name": None, "locale": "en"}}
    stored = StoredEvent(originator_id=UUID("6b1f0c2e-57a4-4f8a-9d0e-3c2b1a0f9e11"), originator_version=2,
                         topic="services.access.domain.charger:Charger.ChargerOwnershipTransferred",
                         state=json.dumps(state).encode())
    envelope = published(7, store.mapper.to_domain_event(stored)).envelope
    assert envelope.data["from_owner"] is None
    assert envelope.data["to_owner"]["email"] == "new@example.no"


# -- v1 events from before time-bound shares: their shares were permanent --------------

CHARGER = "6b1f0c2e-57a4-4f8a-9d0e-3c2b1a0f9e11"
GUEST = "0d6c1e0a-8f5b-4c61-9d3c-6f0a2b7e4c22"
INVITATION = "9a3e5b1c-2d4f-4a6b-8c0d-1e2f3a4b5c6d"


def _uuid(value: str) -> dict[str, str]:
    return {"_type_": "uuid_hex", "_data_": UUID(value).hex}


def _stamp(at: str = "2026-03-04T10:00:00+00:00") -> dict[str, object]:
    return {"timestamp": {"_type_": "datetime_iso", "_data_": at}, "actor": "a",
            "command_id": "c"}


def _stored(originator: str, version: int, topic: str, state: dict[str, object]) -> StoredEvent:
    assert "class_version" not in state
    return StoredEvent(originator_id=UUID(originator), originator_version=version,
                       topic=f"services.access.domain.{topic}",
                       state=json.dumps({**_stamp(), **state}).encode())


def test_v1_access_granted_loads_as_a_permanent_share() -> None:
    store = memory_store()
    granted = _stored(CHARGER, 2, "charger:Charger.AccessGranted", {
        "charger_id": _uuid(CHARGER), "user_id": _uuid(GUEST), "level": "manage",
        "source": {"kind": "update", "command_id": "c"}})
    store.recorder.insert_events([stored_v1(), granted])
    charger = store.load(UUID(CHARGER))
    assert isinstance(charger, Charger)
    assert charger.shares == {GUEST: "manage"}
    assert charger.window_of(GUEST).permanent
    assert (charger.windows, charger.effect) == ({}, {})
    data = published(2, store.mapper.to_domain_event(granted)).envelope.data
    assert (data["valid_from"], data["valid_until"], data["schedule"]) == (None, None, None)


def test_v1_invitation_events_load_without_a_window() -> None:
    store = memory_store()
    person = {"user_id": GUEST, "email": "inviter@example.no", "name": None, "locale": "en"}
    charger = {"charger_id": CHARGER, "name": None, "serial_number": "WB-1"}
    invited = _stored(INVITATION, 1, "invitation:Invitation.UserInvited", {
        "originator_topic": "services.access.domain.invitation:Invitation",
        "invitation_id": _uuid(INVITATION), "email": "guest@example.no", "chargers": [charger],
        "level": "charge", "locale": "nb", "inviter": person,
        "expires_at": {"_type_": "datetime_iso", "_data_": "2026-03-11T10:00:00+00:00"},
        "token_salt": "salt"})
    resent = _stored(INVITATION, 2, "invitation:Invitation.InvitationResent", {
        "invitation_id": _uuid(INVITATION), "email": "guest@example.no", "chargers": [charger],
        "level": "charge", "locale": "nb", "inviter": person,
        "expires_at": {"_type_": "datetime_iso", "_data_": "2026-03-12T10:00:00+00:00"},
        "token_salt": "salt2"})
    accepted = _stored(INVITATION, 3, "invitation:Invitation.InvitationAccepted", {
        "invitation_id": _uuid(INVITATION), "user_id": _uuid(GUEST),
        "charger_ids": [_uuid(CHARGER)], "level": "charge"})
    store.recorder.insert_events([invited, resent, accepted])
    invitation = store.load(UUID(INVITATION))
    assert isinstance(invitation, Invitation)
    assert invitation.window.permanent
    assert invitation.status == "accepted"
    for position, stored in enumerate((invited, resent, accepted), start=1):
        data = published(position, store.mapper.to_domain_event(stored)).envelope.data
        assert (data["valid_from"], data["valid_until"], data["schedule"]) == (None, None, None)


def test_v1_user_access_changed_reads_as_permanent() -> None:
    store = memory_store()
    person = {"user_id": GUEST, "email": "guest@example.no", "name": None, "locale": "en"}
    changed = _stored(GUEST, 3, "user:User.UserAccessChanged", {
        "user": person, "changed_by": person, "level": "charge",
        "chargers": [{"charger_id": CHARGER, "name": None, "serial_number": "WB-1"}]})
    data = published(9, store.mapper.to_domain_event(changed)).envelope.data
    assert (data["level"], data["valid_from"], data["valid_until"], data["schedule"]) == (
        "charge", None, None, None)


def test_new_windowed_events_are_stored_as_v2() -> None:
    store = memory_store()
    cause = Cause("actor", "command", datetime.now(UTC))
    charger = Charger.register(UUID(int=1), "SN-1", None, UUID(int=2), UUID(int=2), cause)
    charger.grant(UUID(int=3), "charge", PERMANENT, {"kind": "update"}, cause)
    stored = store.mapper.to_stored_event(charger.collect_events()[1])
    assert json.loads(stored.state)["class_version"] == 2
