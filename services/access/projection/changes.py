"""Folding a batch of events into the net row changes it makes (pure, no I/O).

Writing event by event costs a round trip each, which caps a rebuild far below the
30 k events/s goal. Instead a batch is reduced in memory to the last state of every row
it touches — later events override earlier ones, key by key — and written with a few
set-based statements. Order is preserved where it matters: per row, the last write wins,
exactly as if the events had been applied one at a time.

The folders read each event's `data` as the published JSON has it (every field present,
times as strings, ids as strings or, straight from the store, as UUIDs), whether it comes
from an envelope or from the store (`records.LogRecord`): no event model is built, which
is most of what a rebuild would otherwise spend per event. Each folder converts only the
values it keeps. The folders live in `folds`, a module per aggregate.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

from services.access.projection.folds import charge_keys, chargers, invitations, people, shares
from services.access.projection.folds.values import (
    Data,
    Folder,
    share_reason,
    share_why,
    window_of,
)
from services.access.projection.rows import BatchChanges, Head, ShareRow

__all__ = ["BatchChanges", "Foldable", "ShareRow", "fold_logged", "share_reason", "share_why",
           "window_of"]


class Foldable(Protocol):
    """What the fold reads of a logged event: `LoggedEvent` and `records.LogRecord` are."""

    @property
    def position(self) -> int: ...

    @property
    def head(self) -> Head: ...

    @property
    def data(self) -> Data: ...


_FOLDERS: dict[str, Folder] = {
    **people.FOLDERS,
    **chargers.FOLDERS,
    **shares.FOLDERS,
    **invitations.FOLDERS,
    **charge_keys.FOLDERS,
}
"""Every published event type's folder (`tests/unit/test_registries.py` holds it to the
event types)."""


def fold_logged(events: Iterable[Foldable]) -> BatchChanges:
    """Reduce logged events or log records, in store order, to their net row changes;
    unknown types are counted, not folded."""
    changes = BatchChanges()
    for logged in events:
        head = logged.head
        folder = _FOLDERS.get(head.type)
        if folder is None:
            changes.skipped_types.add(head.type)
            continue
        folder(changes, logged.position, head, logged.data)
    return changes
