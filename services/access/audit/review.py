"""An access review: who could charge on one charger at one moment, pinned to the chain.

The users and their reasons are the access-at auditor's answer (`service.access_at`: from
the projection's indexes, or replayed when they do not cover the moment) with
the holders whose only share was not in effect left out: they could not charge then.
`position` and `chain_hash` name the last published event folded in and its link, so a
signed review can be checked against an export (or the live chain) later: anyone who
changes an earlier event changes that link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.access.audit import store
from services.access.audit.replay import as_utc
from services.access.audit.service import access_at
from services.access.projection.sql import DEFAULT_SCHEMA, Connection
from services.access.store.chain import GENESIS


async def review(conn: Connection, charger_id: str, at: datetime,
                 schema: str = DEFAULT_SCHEMA, *, replay: bool = False) -> dict[str, Any]:
    """The review of `charger_id` at `at` as SPEC shapes it (JSON-ready)."""
    answer = await access_at(conn, "charger", charger_id, as_utc(at), schema, replay=replay)
    link = await store.link_at(conn, answer.position) if answer.position else None
    users = [{"user_id": entry["user_id"], "level": entry["level"], "why": entry["why"]}
             for entry in answer.entries if entry["in_effect"]]
    return {"charger_id": charger_id, "at": answer.at.isoformat(), "position": answer.position,
            "chain_hash": (link or GENESIS).hex(), "users": users}
