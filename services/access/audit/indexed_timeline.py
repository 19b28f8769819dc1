"""The timeline answered from the projection's indexes: only the events that name the id.

The replay (`timeline.TimelineFilter` fed the whole log) stays the definition; this feeds
the same filter only the events its answer can depend on, in store order, so the cost
follows the id's own events, not the log's length:

- the events naming the id (`id_positions`: any id field, or the actor), and for a user
  those naming the address they registered with (`email_positions`), which is how
  invitations sent to it are found;
- every event naming an invitation that any of those names, again and again until no
  new one appears: an invitation's answer is about the chargers it was for and the
  person it went to, which only its earlier events tell.

The filter's state for everything it decides with is then what the replay's is at that
event. The sentences name users, groups, chargers, invitees, keys and shares' windows as
they were known then: those come from the events that taught the replay's directory
each name a page uses (`sentences.NAMING_TYPES` naming the id, `WINDOW_TYPES` naming the
pair), read the same way. Events the projection has not applied yet are read from the
log past its tracked position, so the answer is at the log's head, as the replay's is.
A property test checks the answers equal the replay's.
"""

from __future__ import annotations

from collections.abc import Iterable

from charger_access_client.envelope import EventEnvelope
from services.access.audit import store
from services.access.audit.sentences import NAMING_TYPES, WINDOW_TYPES, Directory
from services.access.audit.timeline import (
    Subject,
    TimelineEntry,
    TimelineFilter,
    entry_of,
    mentions,
)
from services.access.eventlog.reader import EventLog
from services.access.projection.schema import PROJECTION_NAME
from services.access.projection.sql import Connection, checked_schema, render
from services.access.projection.tables.positions import email_digest, named_ids

BATCH = 1000

_TABLES = ("id_positions", "log_positions", "email_positions", "index_since")
_EXISTS = "SELECT bool_and(to_regclass(t) IS NOT NULL) FROM unnest($1::text[]) AS t"
_SINCE = "SELECT position FROM {s}.index_since WHERE name = 'email_positions'"
_TRACKED = "SELECT position FROM {s}.tracking WHERE projection = $1"
_HAS = "SELECT EXISTS (SELECT 1 FROM {s}.log_positions WHERE position = $1)"

_NAMING = """
    SELECT position FROM {s}.id_positions WHERE id = ANY($1::text[]) AND position <= $3
    UNION
    SELECT position FROM {s}.email_positions
    WHERE email_digest = ANY($2::text[]) AND position <= $3"""

_TEACHING = """
    SELECT i.position FROM {s}.id_positions i JOIN {s}.log_positions l USING (position)
    WHERE i.id = ANY($1::text[]) AND l.type = ANY($2::text[]) AND i.position < $3
    UNION
    SELECT a.position FROM unnest($4::text[], $5::text[]) AS p(charger_id, user_id)
    JOIN {s}.id_positions a ON a.id = p.charger_id
    JOIN {s}.id_positions b ON b.id = p.user_id AND b.position = a.position
    JOIN {s}.log_positions l ON l.position = a.position
    WHERE l.type = ANY($6::text[]) AND a.position < $3"""


async def indexed_up_to(conn: Connection, schema: str) -> int | None:
    """The position up to which the indexes hold every published event, or None when
    they do not hold the log from its first event (no read models in this database, or
    ones kept since before an index existed, until their next rebuild)."""
    s = checked_schema(schema)
    if not await conn.fetchval(_EXISTS, [f"{s}.{table}" for table in _TABLES]):
        return None
    if int(await conn.fetchval(render(_SINCE, schema)) or 0) > 0:
        return None
    first = await store.published_after(conn, 0)
    if first is not None and not await conn.fetchval(render(_HAS, schema), first.position):
        return None
    return int(await conn.fetchval(render(_TRACKED, schema), PROJECTION_NAME) or 0)


class _Events:
    """The events read so far, by position: from the index up to `tracked`, and every
    event past it from the log."""

    def __init__(self, conn: Connection, schema: str, tracked: int) -> None:
        self.conn, self.schema, self.tracked = conn, schema, tracked
        self.log = EventLog()
        self.by_position: dict[int, EventEnvelope] = {}

    async def read_tail(self) -> list[EventEnvelope]:
        after, read = self.tracked, []
        while events := await self.log.read(self.conn, after, BATCH):
            read += [e.envelope for e in events]
            after = events[-1].position
        self.by_position.update((e.sequence, e) for e in read)
        return read

    async def read(self, positions: Iterable[int]) -> list[EventEnvelope]:
        """The events at `positions` not read yet (in store order)."""
        wanted = sorted(set(positions) - self.by_position.keys())
        read: list[EventEnvelope] = []
        for start in range(0, len(wanted), BATCH):
            events = await self.log.read_at(self.conn, wanted[start:start + BATCH])
            read += [e.envelope for e in events]
        self.by_position.update((e.sequence, e) for e in read)
        return read

    async def naming(self, ids: Iterable[str], emails: Iterable[str]) -> list[EventEnvelope]:
        """The indexed events naming any of `ids` or `emails` not read yet."""
        rows = await self.conn.fetch(render(_NAMING, self.schema), sorted(set(ids)),
                                     sorted({email_digest(e) for e in emails}), self.tracked)
        return await self.read(r["position"] for r in rows)

    def in_order(self, upto: int | None = None) -> list[EventEnvelope]:
        return [self.by_position[p] for p in sorted(self.by_position)
                if upto is None or p <= upto]


async def timeline(conn: Connection, schema: str, subject: Subject, emails: list[str],
                   tracked: int, after: int = 0, limit: int | None = None
                   ) -> list[TimelineEntry]:
    """The events about `subject` past `after` (the first `limit` of them, when given), as
    the replay gives them; `emails` are the user's registered addresses (as the replay
    starts with), `tracked` what `indexed_up_to` answered. The caller holds one snapshot."""
    events = _Events(conn, schema, tracked)
    await _gather(events, subject, emails, await events.read_tail())
    about = TimelineFilter(subject, emails)
    page = [e for e in events.in_order() if about.feed(e) is not None and e.sequence > after]
    page = page[:limit] if limit is not None else page
    if not page:
        return []
    last = page[-1].sequence
    await _teaching(events, page, last)
    wanted = {e.sequence for e in page}
    directory, entries = Directory(), []
    for envelope in events.in_order(last):
        if envelope.sequence in wanted:
            entries.append(entry_of(directory, envelope))
        directory.learn(envelope)
    return entries


async def _gather(events: _Events, subject: Subject, emails: list[str],
                  tail: list[EventEnvelope]) -> None:
    """Read every event the filter's decisions about `subject` depend on (see the module)."""
    ids, addresses = {subject.id}, set(emails)
    fresh = [*tail, *await events.naming(ids, addresses)]
    while fresh:
        new_ids: set[str] = set()
        new_addresses: set[str] = set()
        for envelope in fresh:
            found = mentions(envelope)
            new_ids |= found.ids["invitation"]
            if (subject.kind == "user" and envelope.type == "UserRegistered"
                    and found.names(subject)):
                new_addresses |= found.emails
        new_ids -= ids
        new_addresses -= addresses
        ids |= new_ids
        addresses |= new_addresses
        fresh = await events.naming(new_ids, new_addresses) if new_ids or new_addresses else []


async def _teaching(events: _Events, page: list[EventEnvelope], last: int) -> None:
    """Read the events before `last` that teach the names and windows `page` mentions."""
    ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for envelope in page:
        named = named_ids(envelope.data)
        if envelope.actor:
            named.add(envelope.actor)
        ids |= named
        charger, user = envelope.data.get("charger_id"), envelope.data.get("user_id")
        if charger is not None and user is not None:
            pairs.add((str(charger), str(user)))
    chargers, users = [c for c, _ in sorted(pairs)], [u for _, u in sorted(pairs)]
    rows = await events.conn.fetch(render(_TEACHING, events.schema), sorted(ids),
                                   list(NAMING_TYPES), last,
                                   chargers, users, list(WINDOW_TYPES))
    await events.read(r["position"] for r in rows)
