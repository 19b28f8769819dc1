"""Access at a moment answered from the projection's indexes, not by replaying the log.

`access_history` holds every access row the projection wrote, each with the interval
(from_time ≤ T < until_time) it held in; `log_positions` holds each position's time. The
rows in force at T give the pairs and their reasons; a time-bound share's window is then
evaluated at T with the domain's arithmetic, as the replay does (`audit/replay.py`), so
the boundary events' arrival times play no part. Equal to the replay's answer (checked by
a property test) while event times do not go backwards in store order: the replay folds
every event whose time is at or before T, the index the intervals that start by then.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal
from uuid import UUID

from services.access.api.moment import at_moment, window_of
from services.access.audit import store
from services.access.audit.coverage import ACCESS_TABLES, IndexCoverage
from services.access.audit.replay import as_utc
from services.access.projection.schema import PROJECTION_NAME
from services.access.projection.sql import Connection, render

_ROWS = """
    SELECT charger_id, user_id, level, why FROM {s}.access_history
    WHERE {key} = $1 AND from_time <= $2 AND (until_time IS NULL OR $2 < until_time)"""

_ANSWER = """
    SELECT (SELECT position FROM {s}.tracking WHERE projection = $4) AS tracked,
           (SELECT position FROM {s}.log_positions WHERE time <= $1
            ORDER BY time DESC, position DESC LIMIT 1) AS position,
           EXISTS (SELECT 1 FROM {s}.id_positions i JOIN {s}.log_positions l USING (position)
                   WHERE i.id = $2 AND l.type = $3 AND l.time <= $1) AS registered"""
"""How far the projection is, the last position at or before T, and whether the id was
registered by then: one round trip."""

_REGISTRATION = {"charger": "ChargerRegistered", "user": "UserRegistered"}


@dataclass(frozen=True)
class IndexedAnswer:
    exists: bool
    entries: list[dict[str, Any]]
    position: int


async def answer_at(conn: Connection, schema: str, kind: Literal["charger", "user"], id_: str,
                    at: datetime, coverage: IndexCoverage) -> IndexedAnswer | None:
    """Access at `at` from the indexes; None when they do not cover it: not kept from the
    log's first event on (`coverage`: added to an older database since its last
    rebuild), or the projection has not yet applied every event up to `at` (it may lag
    the log by the events of the last moments)."""
    if not await coverage.from_start(conn, schema, ACCESS_TABLES):
        return None
    row = await conn.fetchrow(render(_ANSWER, schema), at, id_, _REGISTRATION[kind],
                              PROJECTION_NAME)
    assert row is not None
    if not await _applied_up_to(conn, int(row["tracked"] or 0), at):
        return None
    return IndexedAnswer(bool(row["registered"]), await entries_at(conn, schema, kind, id_, at),
                         int(row["position"] or 0))


async def _applied_up_to(conn: Connection, tracked: int, at: datetime) -> bool:
    pending = await store.published_after(conn, tracked)
    return pending is None or as_utc(pending.head.time) > at


def entry_at(level: str, why: list[dict[str, Any]], at: datetime) -> dict[str, Any]:
    """A pair's entry at `at` as the replay shapes it: the reasons in effect then, or, when
    none is, the share that would give access with `in_effect: false`."""
    if not any(window_of(reason) is not None for reason in why):
        return {"level": level, "in_effect": True, "why": why}
    moment = at_moment(why, at)
    if moment.level is not None:
        return {"level": moment.level, "in_effect": True, "why": moment.why}
    return {"level": level, "in_effect": False, "why": why}


async def entries_at(conn: Connection, schema: str, kind: Literal["charger", "user"],
                     id_: str, at: datetime) -> list[dict[str, Any]]:
    """`{user_id|charger_id, level, in_effect, why}` of the charger's users (or the
    user's chargers) at `at`, ordered by the other id's text, as the replay orders them."""
    try:
        key = UUID(id_)
    except ValueError:
        return []
    column, other = ("charger_id", "user_id") if kind == "charger" else ("user_id", "charger_id")
    sql = render(_ROWS, schema).replace("{key}", column)
    rows = await conn.fetch(sql, key, at)
    found = [{other: str(r[other]),
              **entry_at(r["level"], [in_replay_order(w) for w in json.loads(r["why"])], at)}
             for r in rows]
    return sorted(found, key=lambda entry: entry[other])


_HEAD_KEYS = ("source", "group_id", "invitation_id", "command_id")
_WINDOW_KEYS = ("valid_from", "valid_until", "schedule")


def in_replay_order(reason: dict[str, Any]) -> dict[str, Any]:
    """A reason with its keys in the order the replay writes them (jsonb keeps its own
    order), so the JSON an auditor gets is the same text either way."""
    ordered = {k: reason[k] for k in _HEAD_KEYS if k in reason}
    for key in _WINDOW_KEYS:
        if key in reason:
            ordered[key] = reason[key]
    schedule = ordered.get("schedule")
    if isinstance(schedule, dict):
        ordered["schedule"] = {
            "time_zone": schedule["time_zone"],
            "windows": [{"days": w["days"], "from": w["from"], "until": w["until"]}
                        for w in schedule["windows"]]}
    ordered.update({k: v for k, v in reason.items() if k not in ordered and k != "level"})
    ordered["level"] = reason["level"]
    return ordered
