"""Effective access of a user on a charger: the highest of owner, group role and share."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from services.access.domain.charger import Charger
from services.access.domain.group import Group
from services.access.domain.windows import in_effect

LEVELS = {"charge": 1, "manage": 2}
"""The rank of each access level: a higher level allows all a lower one does."""


def effective_level(
    user_id: UUID | str, charger: Charger, group: Group | None, at: datetime | None = None,
) -> str | None:
    """Owner and group roles always count; a share counts when in effect at `at` (with no
    `at`, whatever its window)."""
    uid = str(user_id)
    levels: list[str] = []
    if str(charger.owner_id) == uid:
        levels.append("manage")
    role = group.role_of(uid) if group is not None else None
    if role in ("owner", "admin"):
        levels.append("manage")
    elif role == "member":
        levels.append("charge")
    share = charger.shares.get(uid)
    if share is not None and (at is None or in_effect(charger.window_of(uid), at)):
        levels.append(share)
    return max(levels, key=LEVELS.__getitem__) if levels else None


def can_manage(user_id: UUID | str, charger: Charger, group: Group | None, at: datetime) -> bool:
    """Manage rights for a command at `at`: a `manage` share only while in effect."""
    return effective_level(user_id, charger, group, at) == "manage"
