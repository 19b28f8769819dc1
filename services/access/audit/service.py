"""The auditors' questions answered from the stored log; the CLI and `/v1/audit` share these."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.access.audit import indexed, store
from services.access.audit.export import Exporter
from services.access.audit.replay import AccessState, as_utc, replay_until
from services.access.audit.timeline import Subject, TimelineEntry, TimelineFilter
from services.access.audit.verify import Verdict, walk
from services.access.projection.sql import DEFAULT_SCHEMA, Connection
from services.access.store.chain import GENESIS


async def timeline(conn: Connection, subject: Subject,
                   after: int = 0) -> AsyncIterator[TimelineEntry]:
    """Every event about `subject` past position `after`, in store order.

    The whole log is read (what an event is about can depend on earlier events), but
    only entries past `after` are produced: a page of the API starts there.
    """
    emails: list[str] = []
    if subject.kind == "user":
        registered = await store.first_event(conn, subject.id)
        if registered is not None and registered.type == "UserRegistered":
            emails.append(registered.data["email"])
    events = TimelineFilter(subject, emails)
    async for envelope in store.published_events(conn):
        entry = events.feed(envelope)
        if entry is not None and entry.position > after:
            yield entry


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
                    replay: bool = False) -> AccessAt:
    """Effective access at `at`, with the why, from the projection's indexes.

    The same answer as `access_at_replayed` (a property test checks it), at the cost of
    an index lookup instead of a read of the whole log. Replayed when asked (`replay`) or
    when the indexes do not cover `at` (no read models in this database, built before the
    indexes existed, or the projection still behind the events up to `at`)."""
    moment = as_utc(at)
    if replay or not await indexed.covers(conn, schema, moment):
        return await access_at_replayed(conn, kind, id_, moment)
    return AccessAt(kind, id_, moment, await indexed.registered_by(conn, schema, kind, id_, moment),
                    await indexed.entries_at(conn, schema, kind, id_, moment),
                    await indexed.position_at(conn, schema, moment))


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
