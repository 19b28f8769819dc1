"""Chargers: registration, moves between groups, and the transfers of ownership."""

from __future__ import annotations

from uuid import UUID

from services.access.projection.folds.values import (
    Data,
    Folder,
    add_history,
    optional_uuid,
    uuid_of,
)
from services.access.projection.rows import BatchChanges, ChargerPatch, Head


def _charger(changes: BatchChanges, charger_id: UUID) -> ChargerPatch:
    changes.touched_chargers.add(charger_id)
    return changes.chargers.setdefault(charger_id, ChargerPatch(charger_id))


def _charger_registered(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    patch = _charger(c, uuid_of(d["charger_id"]))
    patch.created = True
    patch.serial_number, patch.name = d["serial_number"], d["name"]
    patch.group_id, patch.owner_id = uuid_of(d["group_id"]), uuid_of(d["owner_id"])
    patch.connected = d["connected"]
    details = {"group_id": str(patch.group_id), "owner_id": str(patch.owner_id),
               "connected": d["connected"]}
    add_history(c, p, env, patch.charger_id, details)


def _charger_moved(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    patch = _charger(c, uuid_of(d["charger_id"]))
    patch.group_id = uuid_of(d["to_group_id"])
    details = {"from_group_id": str(d["from_group_id"]), "to_group_id": str(d["to_group_id"])}
    add_history(c, p, env, patch.charger_id, details)


def _ownership_transferred(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    charger_id = uuid_of(d["charger_id"])
    new_owner = optional_uuid(d["to_owner"].get("user_id"))
    if new_owner is not None:
        _charger(c, charger_id).owner_id = new_owner
    details = {"from_owner_id": str(d["from_owner_id"]), "to_owner_id": str(new_owner)}
    add_history(c, p, env, charger_id, details)


def _transferred_to_user(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    patch = _charger(c, uuid_of(d["charger_id"]))
    new_owner = optional_uuid(d["to_user"].get("user_id"))
    if new_owner is not None:
        patch.owner_id = new_owner
    patch.group_id, patch.connected = uuid_of(d["to_group_id"]), d["connected"]
    details = {
        "from_owner_id": str(optional_uuid(d["from_owner"].get("user_id"))),
        "to_owner_id": str(new_owner),
        "from_group_id": str(d["from_group_id"]),
        "to_group_id": str(d["to_group_id"]),
        "connected": d["connected"],
    }
    add_history(c, p, env, patch.charger_id, details)


FOLDERS: dict[str, Folder] = {
    "ChargerRegistered": _charger_registered,
    "ChargerMovedToGroup": _charger_moved,
    "ChargerOwnershipTransferred": _ownership_transferred,
    "ChargerTransferredToUser": _transferred_to_user,
}
