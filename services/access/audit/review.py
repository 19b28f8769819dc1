"""An access review: who could charge on one charger at one moment, pinned to the chain.

The users and their reasons are the access-at auditor's answer (`replay.users_of`) with
the holders whose only share was not in effect left out: they could not charge then.
`position` and `chain_hash` name the last published event folded in and its link, so a
signed review can be checked against an export (or the live chain) later: anyone who
changes an earlier event changes that link.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from services.access.audit import store
from services.access.audit.replay import as_utc, replay_until
from services.access.projection.sql import Connection
from services.access.store.chain import GENESIS


async def review(conn: Connection, charger_id: str, at: datetime) -> dict[str, Any]:
    """The review of `charger_id` at `at` as SPEC shapes it (JSON-ready)."""
    moment = as_utc(at)
    state = await replay_until(store.published_events(conn), moment)
    link = await store.link_at(conn, state.position) if state.position else None
    users = [{"user_id": entry["user_id"], "level": entry["level"], "why": entry["why"]}
             for entry in state.users_of(charger_id) if entry["in_effect"]]
    return {"charger_id": charger_id, "at": moment.isoformat(), "position": state.position,
            "chain_hash": (link or GENESIS).hex(), "users": users}
