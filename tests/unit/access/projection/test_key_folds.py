"""Charge-key events fold to the charge_keys rows: added with their block state as of the
batch's end, a block of a key from an earlier batch as a patch, removed as None."""

from __future__ import annotations

import uuid

from charger_access_client import access_events as ev
from services.access.projection.changes import fold_logged
from tests.unit.access.event_builders import T0, ScriptedLog


def test_a_key_added_and_blocked_in_one_batch_is_one_blocked_row() -> None:
    log = ScriptedLog()
    user, key = uuid.uuid4(), uuid.uuid4()
    log.add(ev.ChargeKeyAdded(key_id=key, user_id=user, id_token="04A2", type="KeyCode",
                              label="Card"), key, user)
    log.add(ev.ChargeKeyBlocked(key_id=key, user_id=user), key, user)
    changes = fold_logged(log.take())
    row = changes.charge_keys[key]
    assert row is not None
    assert (row.user_id, row.id_token, row.type, row.label, row.blocked) == (
        user, "04A2", "KeyCode", "Card", True)
    assert row.added_at > T0
    assert changes.key_blocks == {}
    assert changes.touched_key_users == {user}


def test_blocks_of_a_key_from_an_earlier_batch_are_patches_the_last_one_wins() -> None:
    log = ScriptedLog()
    user, key = uuid.uuid4(), uuid.uuid4()
    log.add(ev.ChargeKeyBlocked(key_id=key, user_id=user), key, user)
    log.add(ev.ChargeKeyUnblocked(key_id=key, user_id=user), key, user)
    changes = fold_logged(log.take())
    assert changes.key_blocks == {key: False}
    assert changes.charge_keys == {}


def test_a_removed_key_is_none_and_forgets_its_patches() -> None:
    log = ScriptedLog()
    user, key, kept = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    log.add(ev.ChargeKeyBlocked(key_id=key, user_id=user), key, user)
    log.add(ev.ChargeKeyRemoved(key_id=key, user_id=user, reason="user_forgotten"), key, user)
    log.add(ev.ChargeKeyAdded(key_id=kept, user_id=user, id_token="X", type="Local"), kept, user)
    changes = fold_logged(log.take())
    assert changes.charge_keys[key] is None
    assert changes.charge_keys[kept] is not None
    assert changes.key_blocks == {}
