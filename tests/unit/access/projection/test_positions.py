"""The id → positions index names an event under the same ids the timeline reads."""

from __future__ import annotations

from services.access.audit.timeline import _KEYS
from services.access.projection.tables.positions import ID_KEYS, named_ids


def test_the_index_reads_the_fields_the_timeline_reads() -> None:
    assert set(_KEYS) == ID_KEYS


def test_ids_are_found_at_any_depth_in_lists_and_references() -> None:
    data = {"invitation_id": "i", "chargers": [{"charger_id": "c1", "name": "Garasje"},
                                               {"charger_id": "c2"}],
            "to_user": {"user_id": "u", "email": "ola@example.no"}, "group_id": None,
            "charger_ids": ["c3", "c4"], "level": "charge"}
    assert named_ids(data) == {"i", "c1", "c2", "u", "c3", "c4"}
