"""Events stored by an older version stay readable: a v1 ChargerRegistered (stored before
chargers had a cloud-connection flag) is upcast on read, into the aggregate and onto the
wire."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

from eventsourcing.persistence import StoredEvent

from services.access.domain.base import Cause
from services.access.domain.charger import Charger
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
