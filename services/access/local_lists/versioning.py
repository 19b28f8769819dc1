"""When a list gets a new version: exactly when its Full content changes.

Pure: the projection hands in the stored content and the freshly computed one.
"""

from __future__ import annotations

from collections.abc import Mapping

from services.access.local_lists.entries import Changes, EntryInfo, LocalList, TokenKey


def changes_between(old: LocalList, new: LocalList) -> dict[TokenKey, EntryInfo | None]:
    """The Differential taking `old` to `new`: keys added or whose info changed, with
    their new info, and keys gone, with None. Empty means: same content, no new version."""
    changed: dict[TokenKey, EntryInfo | None] = {
        key: info for key, info in new.items() if old.get(key) != info
    }
    changed.update({key: None for key in old if key not in new})
    return changed


def apply_changes(full: LocalList, changes: Changes) -> dict[TokenKey, EntryInfo]:
    """`full` with a Differential applied, as a charger applies it."""
    result = dict(full)
    for key, info in changes.items():
        if info is None:
            result.pop(key, None)
        else:
            result[key] = info
    return result


def with_token_siblings(changes: Changes, current: Mapping[TokenKey, EntryInfo]) -> Changes:
    """`changes` plus the current entries that share a token with a changed key.

    OCPP 1.6 has no token types: its entry for a token stands for every key with that
    token, so removing one type while another stays must re-send the one that stays."""
    tokens = {key.id_token for key in changes}
    siblings = {k: v for k, v in current.items() if k.id_token in tokens and k not in changes}
    return {**siblings, **changes}
