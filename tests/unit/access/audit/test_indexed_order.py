"""Reasons read back from jsonb are put in the replay's key order, so the JSON is the same."""

from __future__ import annotations

import json

from services.access.audit.indexed import in_replay_order
from services.access.domain.windows import Window
from services.access.projection.changes import share_why


def test_a_time_bound_share_reads_as_the_replay_writes_it() -> None:
    window = Window.from_data({"valid_from": "2025-03-03T12:00:00Z", "valid_until": None,
                               "schedule": {"time_zone": "Europe/Oslo", "windows": [
                                   {"days": ["sat", "sun"], "from": "08:00", "until": "20:00"}]}})
    replayed = {**share_why({"invitation_id": "i-1"}, window), "level": "charge"}
    # jsonb orders keys by length, then bytes; the inner schedule's too.
    scrambled = json.loads(json.dumps(
        {k: replayed[k] for k in sorted(replayed, key=lambda k: (len(k), k))}))
    scrambled["schedule"] = {"windows": [{"until": "20:00", "from": "08:00",
                                          "days": ["sat", "sun"]}], "time_zone": "Europe/Oslo"}
    assert json.dumps(in_replay_order(scrambled)) == json.dumps(replayed)


def test_owner_and_group_reasons_keep_their_order() -> None:
    group = {"source": "group:admin", "group_id": "g", "level": "manage"}
    assert list(in_replay_order({"level": "manage", "source": "group:admin", "group_id": "g"})) \
        == list(group)
    assert list(in_replay_order({"level": "manage", "source": "owner"})) == ["source", "level"]
