"""The auditors' questions answered from the stored log; the CLI and `/v1/audit` share these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.access.audit import indexed, indexed_timeline, store
from services.access.audit.coverage import IndexCoverage
from services.access.audit.export import Exporter
from services.access.audit.replay import AccessState, as_utc, replay_until
from services.access.audit.timeline import Subject, TimelineEntry, TimelineFilter
from services.access.audit.verify import Verdict, walk
from services.access.projection.sql import DEFAULT_SCHEMA, Connection
from services.access.store.chain import GENESIS


async def timeline(conn: Connection, subject: Subject, after: int = 0,
                   schema: str = DEFAULT_SCHEMA, *, limit: int | None = None,
                   replay: bool = False,
                   coverage: IndexCoverage | None = None) -> list[TimelineEntry]:
    """The events about `subject` past position `after` (the first `limit`, when given),
    in store order, at the log's head.

    Read from the projection's indexes: only the events that name the id (and what they
    depend on), not the log (`indexed_timeline`); the same answer as
    `timeline_replayed` (a property test checks it). Replayed when asked (`replay`) or
    when the indexes do not hold the log from its start."""
    emails = await registered_emails(conn, subject)
    if not replay:
        async with conn.transaction(readonly=True, isolation="repeatable_read"):
            tracked = await indexed_timeline.indexed_up_to(conn, schema, coverage)
            if tracked is not None:
                return await indexed_timeline.timeline(conn, schema, subject, emails, tracked,
                                                       after, limit)
    return await timeline_replayed(conn, subject, after, limit=limit, emails=emails)


async def timeline_replayed(conn: Connection, subject: Subject, after: int = 0, *,
                            limit: int | None = None,
                            emails: list[str] | None = None) -> list[TimelineEntry]:
    """The timeline from the whole log (what an event is about can depend on earlier
    events), read only as far as the page needs: the reference the indexes are checked
    against, and the fallback (`--replay`)."""
    if emails is None:
        emails = await registered_emails(conn, subject)
    events = TimelineFilter(subject, emails)
    entries: list[TimelineEntry] = []
    async with aclosing(store.published_events(conn)) as envelopes:  # ends its snapshot
        async for envelope in envelopes:
            entry = events.feed(envelope)
            if entry is not None and entry.position > after:
                entries.append(entry)
                if limit is not None and len(entries) >= limit:
                    break
    return entries


async def registered_emails(conn: Connection, subject: Subject) -> list[str]:
    """The address a user registered with (as the log reads it now), which invitations
    sent to them before they registered name."""
    if subject.kind != "user":
        return []
    registered = await store.first_event(conn, subject.id)
    if registered is not None and registered.type == "UserRegistered":
        return [registered.data["email"]]
    return []


@dataclass(frozen=True)
class AccessAt:
    kind: Literal["charger", "user"]
    id: str
    at: datetime
    exists: bool
    """Whether the charger (or user) existed at `at`."""
    entries: list[dict[str, Any]]
    """`{user_id|charger_id, level, in_effect, why}` per user (of a charger) or charger (of
    a user); `in_effect: false` for a holder whose only access is a share not in effect."""
    position: int
    """The last event position at or before `at`."""

    def as_json(self) -> dict[str, Any]:
        key = "users" if self.kind == "charger" else "chargers"
        return {f"{self.kind}_id": self.id, "at": self.at.isoformat(), "exists": self.exists,
                key: self.entries, "position": self.position}


async def access_at(conn: Connection, kind: Literal["charger", "user"], id_: str,
                    at: datetime, schema: str = DEFAULT_SCHEMA, *,
                    replay: bool = False, coverage: IndexCoverage | None = None) -> AccessAt:
    """Effective access at `at`, with the why, from the projection's indexes.

    The same answer as `access_at_replayed` (a property test checks it), at the cost of
    an index lookup instead of a read of the whole log. Replayed when asked (`replay`) or
    when the indexes do not cover `at` (no read models in this database, built before the
    indexes existed, or the projection still behind the events up to `at`). `coverage`:
    what this process already knows of the indexes (a long-lived one saves asking)."""
    moment = as_utc(at)
    if not replay:
        found = await indexed.answer_at(conn, schema, kind, id_, moment,
                                        coverage or IndexCoverage())
        if found is not None:
            return AccessAt(kind, id_, moment, found.exists, found.entries, found.position)
    return await access_at_replayed(conn, kind, id_, moment)


async def access_at_replayed(conn: Connection, kind: Literal["charger", "user"], id_: str,
                             at: datetime) -> AccessAt:
    """Effective access at `at`, with the why, replayed from every event up to then: the
    reference the indexes are checked against, and the fallback (`--replay`)."""
    moment = as_utc(at)
    return answer_of(await replay_until(store.published_events(conn), moment), kind, id_)


def answer_of(state: AccessState, kind: Literal["charger", "user"], id_: str) -> AccessAt:
    """The access-at answer a replayed state gives (for its moment, `state.at`)."""
    assert state.at is not None
    if kind == "charger":
        return AccessAt(kind, id_, state.at, state.knows_charger(id_), state.users_of(id_),
                        state.position)
    return AccessAt(kind, id_, state.at, state.knows_user(id_), state.chargers_of(id_),
                    state.position)


async def verify(conn: Connection, progress: Callable[[int], None] | None = None) -> Verdict:
    """Walk the whole chain; the verdict names the first position that does not match."""
    return await walk(store.stored_rows(conn), progress)


async def export(conn: Connection, first: int = 0,
                 last: int | None = None) -> AsyncIterator[tuple[int, str]]:
    """(position, JSON line) of every stored position from `first` to `last` (inclusive)."""
    previous = await store.link_before(conn, first) if first > 1 else None
    exporter = Exporter(previous or GENESIS)
    async for rows in store.stored_batches(conn, first, last):
        envelopes = await store.envelopes_of(conn, rows)
        for row in rows:
            yield row.position, exporter.line(row, envelopes.get(row.position))
