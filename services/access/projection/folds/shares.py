"""Shares: grants, revocations, and a time-bound share's boundaries and notice."""

from __future__ import annotations

from typing import Any

from services.access.domain.windows import in_effect
from services.access.projection.folds.values import (
    Data,
    Folder,
    add_history,
    instant_of,
    share_why,
    uuid_of,
    window_of,
)
from services.access.projection.rows import BatchChanges, Head, ShareEffect, ShareRow


def _access_granted(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    key = (uuid_of(d["charger_id"]), uuid_of(d["user_id"]))
    window = window_of(d)
    why = share_why(d["source"], window)
    row = ShareRow(d["level"], why)
    if not window.permanent:  # as the charger has it: in effect or not as of the grant
        row.valid_from, row.valid_until = window.valid_from, window.valid_until
        row.schedule = why["schedule"]
        row.in_effect, row.effect_at = in_effect(window, env.time), env.time
    c.shares[key] = row
    c.share_effects.pop(key, None)
    c.touched_pairs.add(key)
    add_history(c, p, env, key[0], {"user_id": str(key[1]), "level": d["level"], **why})


def _access_revoked(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    key = (uuid_of(d["charger_id"]), uuid_of(d["user_id"]))
    c.shares[key] = None
    c.share_effects.pop(key, None)
    c.touched_pairs.add(key)
    add_history(c, p, env, key[0], {"user_id": str(key[1]), "reason": d["reason"]})


def _share_boundary(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    """A share came into or went out of effect: the share's `in_effect` as of `at`.

    Access rows do not change: they keep the window and a check evaluates it at the moment
    asked, so the answer never waits for the boundary event."""
    key = (uuid_of(d["charger_id"]), uuid_of(d["user_id"]))
    at, on = instant_of(d["at"]), env.type == "ShareCameIntoEffect"
    if key in c.shares:
        row = c.shares[key]
        if row is not None:
            row.in_effect, row.effect_at = on, at
    else:
        c.share_effects[key] = ShareEffect(on, at)
    details: dict[str, Any] = {"user_id": str(key[1]), "level": d["level"],
                               "at": at.isoformat()}
    if not on:
        details["ended"] = d["ended"]
    add_history(c, p, env, key[0], details)


def _share_ending(c: BatchChanges, p: int, env: Head, d: Data) -> None:
    """The notice before `valid_until`: a line in the charger's history (no personal data)."""
    charger_id = uuid_of(d["charger_id"])
    details = {"user_id": str(uuid_of(d["user_id"])), "level": d["level"],
               "valid_until": instant_of(d["valid_until"]).isoformat(),
               "at": instant_of(d["at"]).isoformat()}
    add_history(c, p, env, charger_id, details)


def _ignored(_c: BatchChanges, _p: int, _e: Head, _d: Data) -> None:
    """Summary events (for e-mails) whose effects arrive as AccessGranted/Revoked too."""


FOLDERS: dict[str, Folder] = {
    "AccessGranted": _access_granted,
    "AccessRevoked": _access_revoked,
    "UserAccessChanged": _ignored,
    "UserAccessRemoved": _ignored,
    "ShareCameIntoEffect": _share_boundary,
    "ShareWentOutOfEffect": _share_boundary,
    "ShareEnding": _share_ending,
}
