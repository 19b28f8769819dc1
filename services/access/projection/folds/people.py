"""Users and groups: registrations, forgetting, memberships."""

from __future__ import annotations

from charger_access_client import access_events as ev
from services.access.projection.folds.values import Data, Folder, uuid_of
from services.access.projection.rows import BatchChanges, GroupRow, Head, UserRow


def _user_registered(c: BatchChanges, _p: int, _e: Head, d: Data) -> None:
    user_id = uuid_of(d["user_id"])
    c.users[user_id] = UserRow(user_id, d["email"], d["phone"], d["name"], d["locale"])


def _user_forgotten(c: BatchChanges, _p: int, _e: Head, d: Data) -> None:
    c.forgotten.append(ev.UserForgotten.model_validate(d))


def _group_created(c: BatchChanges, _p: int, _e: Head, d: Data) -> None:
    group_id, owner_id = uuid_of(d["group_id"]), uuid_of(d["owner_id"])
    c.groups[group_id] = GroupRow(group_id, d["name"], owner_id, d["personal"])
    c.members[(group_id, owner_id)] = "owner"
    c.touched_memberships.add((group_id, owner_id))


def _member_added(c: BatchChanges, _p: int, _e: Head, d: Data) -> None:
    key = (uuid_of(d["group_id"]), uuid_of(d["user_id"]))
    c.members[key] = d["role"]
    c.touched_memberships.add(key)


def _member_removed(c: BatchChanges, _p: int, _e: Head, d: Data) -> None:
    key = (uuid_of(d["group_id"]), uuid_of(d["user_id"]))
    c.members[key] = None
    c.touched_memberships.add(key)


FOLDERS: dict[str, Folder] = {
    "UserRegistered": _user_registered,
    "UserForgotten": _user_forgotten,
    "GroupCreated": _group_created,
    "GroupMemberAdded": _member_added,
    "GroupMemberRemoved": _member_removed,
}
