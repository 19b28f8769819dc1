"""Charge keys: added, blocked and unblocked, removed."""

from __future__ import annotations

from services.access.projection.folds.values import Data, Folder, uuid_of
from services.access.projection.rows import BatchChanges, ChargeKeyRow, Head


def _key_added(c: BatchChanges, _p: int, env: Head, d: Data) -> None:
    key_id, user_id = uuid_of(d["key_id"]), uuid_of(d["user_id"])
    c.charge_keys[key_id] = ChargeKeyRow(key_id, user_id, d["id_token"], d["type"],
                                         d["label"], env.time)
    c.touched_key_users.add(user_id)


def _key_blocking(c: BatchChanges, _p: int, env: Head, d: Data) -> None:
    key_id, blocked = uuid_of(d["key_id"]), env.type == "ChargeKeyBlocked"
    if key_id in c.charge_keys:
        row = c.charge_keys[key_id]
        if row is not None:
            row.blocked = blocked
    else:
        c.key_blocks[key_id] = blocked
    c.touched_key_users.add(uuid_of(d["user_id"]))


def _key_removed(c: BatchChanges, _p: int, _e: Head, d: Data) -> None:
    key_id = uuid_of(d["key_id"])
    c.charge_keys[key_id] = None
    c.key_blocks.pop(key_id, None)
    c.touched_key_users.add(uuid_of(d["user_id"]))


FOLDERS: dict[str, Folder] = {
    "ChargeKeyAdded": _key_added,
    "ChargeKeyBlocked": _key_blocking,
    "ChargeKeyUnblocked": _key_blocking,
    "ChargeKeyRemoved": _key_removed,
}
