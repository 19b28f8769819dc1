"""A charger's Full list from the state the log gives, never from the wall clock.

Who is on it: every user with access in effect as the log has it — the charger's owner,
any member of its group, and share holders whose share is in effect as of its last grant
or boundary event (the shares' `in_effect`). Each of their keys is an entry: `Blocked`
for a blocked key (so a charger's cache cannot admit it), else `Accepted`, expiring at
the end of the current period when the user's access comes only from a time-bound share.
Because every input is folded from the log, a rebuild computes the same lists.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.access.domain.windows import Window, period_end
from services.access.local_lists.entries import EntryInfo, TokenKey


@dataclass(frozen=True)
class Holder:
    """A user's standing on one charger: `standing` = owner or group role (always in
    effect); `share_window`/`share_in_effect`/`effect_at` describe a share, if any."""

    standing: bool
    has_share: bool = False
    share_window: Window | None = None
    share_in_effect: bool = False
    effect_at: datetime | None = None


@dataclass(frozen=True)
class Key:
    id_token: str
    type: str
    blocked: bool


def holder_expiry(holder: Holder) -> tuple[bool, datetime | None]:
    """Whether the holder is on the list, and until when (None: no end)."""
    if holder.standing:
        return True, None
    if not holder.has_share or not holder.share_in_effect:
        return False, None
    window = holder.share_window
    if window is None or window.permanent or holder.effect_at is None:
        return True, None
    return True, period_end(window, holder.effect_at)


def full_list(holders: Iterable[tuple[Holder, Iterable[Key]]]) -> dict[TokenKey, EntryInfo]:
    """The Full list of one charger from its holders and their keys."""
    result: dict[TokenKey, EntryInfo] = {}
    for holder, keys in holders:
        on_list, expiry = holder_expiry(holder)
        if not on_list:
            continue
        for key in keys:
            info = EntryInfo("Blocked") if key.blocked else EntryInfo("Accepted", expiry)
            result[TokenKey(key.id_token, key.type)] = info
    return result
