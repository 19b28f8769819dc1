"""The timeline answered from the projection's indexes: only the events that name the id.

The replay (`timeline.TimelineFilter` fed the whole log) stays the definition; this feeds
the same filter only the events its answer can depend on, in store order, so the cost
follows the id's own events, not the log's length:

- the events naming the id (`id_positions`: any id field, or the actor), and for a user
  those naming the address they registered with (`email_positions`), which is how
  invitations sent to it are found;
- from where one of those (or of these) names an invitation first, every later event
  naming it: an invitation's answer is about the chargers it was for and the person it
  went to, which only its earlier events tell. (Its events before that point are about
  the subject only if they name it, its address, or another invitation so found.)

The filter's state for everything it decides with is then what the replay's is at that
event. They are read in store order a batch at a time, and only as far as the page
asked for needs. The sentences name users, groups, chargers, invitees, keys and shares'
windows as they were known then: those come from the events that taught the replay's
directory each name a page uses (`name_positions`: the events of `directory.NAMING_TYPES`
giving the id its name; `WINDOW_TYPES` naming the pair), read the same way. Events the
projection has not applied yet are read from the log past its tracked position, so the
answer is at the log's head, as the replay's is. A property test checks the answers
equal the replay's.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable

from charger_access_client.access_events import AccessEvent
from charger_access_client.envelope import EventEnvelope
from services.access.audit.coverage import TIMELINE_TABLES, IndexCoverage
from services.access.audit.directory import WINDOW_TYPES, Directory
from services.access.audit.timeline import (
    Subject,
    TimelineEntry,
    TimelineFilter,
    entry_of,
    mentions,
)
from services.access.eventlog.reader import EventLog
from services.access.eventlog.values import LoggedEvent
from services.access.projection.schema import PROJECTION_NAME
from services.access.projection.sql import Connection, render
from services.access.projection.tables.positions import email_digest, named_ids

BATCH = 1000
"""Events read in one round trip at most; for a page, about twice what it still needs
(a charger in a big fleet is named by thousands, each decoded only if read)."""

_TRACKED = "SELECT position FROM {s}.tracking WHERE projection = $1"

_NAMING = """
    SELECT position FROM {s}.id_positions
    WHERE id = ANY($1::text[]) AND position > $3 AND position <= $4
    UNION
    SELECT position FROM {s}.email_positions
    WHERE email_digest = ANY($2::text[]) AND position > $3 AND position <= $4"""

_TEACHING = """
    SELECT position FROM {s}.name_positions WHERE id = ANY($1::text[]) AND position < $2
    UNION
    SELECT a.position FROM unnest($3::text[], $4::text[]) AS p(charger_id, user_id)
    JOIN {s}.id_positions a ON a.id = p.charger_id
    JOIN {s}.id_positions b ON b.id = p.user_id AND b.position = a.position
    JOIN {s}.log_positions l ON l.position = a.position
    WHERE l.type = ANY($5::text[]) AND a.position < $2"""


async def indexed_up_to(conn: Connection, schema: str,
                        coverage: IndexCoverage | None = None) -> int | None:
    """The position up to which the indexes hold every published event, or None when
    they do not hold the log from its first event (no read models in this database, or
    ones kept since before an index existed, until their next rebuild)."""
    if not await (coverage or IndexCoverage()).from_start(conn, schema, TIMELINE_TABLES):
        return None
    return int(await conn.fetchval(render(_TRACKED, schema), PROJECTION_NAME) or 0)


class _Events:
    """The events read so far, by position: from the index up to `tracked`, and every
    event past it from the log."""

    def __init__(self, conn: Connection, schema: str, tracked: int) -> None:
        self.conn, self.schema, self.tracked = conn, schema, tracked
        self.log = EventLog()
        self.by_position: dict[int, EventEnvelope] = {}
        self.validated: dict[int, AccessEvent] = {}
        """Each read event's data as the reader validated it (for its sentence)."""

    async def read_tail(self) -> list[EventEnvelope]:
        after, read = self.tracked, []
        while events := await self.log.read(self.conn, after, BATCH):
            read += self._keep(events)
            after = events[-1].position
        return read

    def _keep(self, events: list[LoggedEvent]) -> list[EventEnvelope]:
        envelopes = [e.envelope for e in events]
        self.by_position.update((e.sequence, e) for e in envelopes)
        self.validated.update((e.position, e.event) for e in events if e.event is not None)
        return envelopes

    async def read(self, positions: Iterable[int]) -> list[EventEnvelope]:
        """The events at `positions` not read yet (in store order)."""
        wanted = sorted(set(positions) - self.by_position.keys())
        read: list[EventEnvelope] = []
        for start in range(0, len(wanted), BATCH):
            read += self._keep(await self.log.read_at(self.conn, wanted[start:start + BATCH]))
        return read

    async def naming(self, ids: Iterable[str], emails: Iterable[str], past: int) -> list[int]:
        """The indexed positions past `past` naming any of `ids` or `emails`."""
        rows = await self.conn.fetch(render(_NAMING, self.schema), sorted(set(ids)),
                                     sorted({email_digest(e) for e in emails}), past,
                                     self.tracked)
        return [int(r["position"]) for r in rows]

    def in_order(self, upto: int) -> list[EventEnvelope]:
        return [self.by_position[p] for p in sorted(self.by_position) if p <= upto]


async def timeline(conn: Connection, schema: str, subject: Subject, emails: list[str],
                   tracked: int, after: int = 0, limit: int | None = None
                   ) -> list[TimelineEntry]:
    """The events about `subject` past `after` (the first `limit` of them, when given), as
    the replay gives them; `emails` are the user's registered addresses (as the replay
    starts with), `tracked` what `indexed_up_to` answered. The caller holds one snapshot."""
    events = _Events(conn, schema, tracked)
    page = await _about(events, subject, emails, after, limit)
    if not page:
        return []
    last = page[-1].sequence
    await _teaching(events, page, last)
    wanted = {e.sequence for e in page}
    directory, entries = Directory(), []
    for envelope in events.in_order(last):
        if envelope.sequence in wanted:
            entries.append(entry_of(directory, envelope, events.validated.get(envelope.sequence)))
        directory.learn(envelope)
    return entries


async def _about(events: _Events, subject: Subject, emails: list[str], after: int,
                 limit: int | None) -> list[EventEnvelope]:
    """The events about `subject` past `after`, up to `limit`: the filter fed, in store
    order, the events naming the subject (or its address) and, from where an event
    names an invitation first, that invitation's (see the module); read a batch at a
    time, and no further than the page needs."""
    ids, addresses = {subject.id}, set(emails)
    pending = [*(e.sequence for e in await events.read_tail()),
               *await events.naming(ids, addresses, 0)]
    heapq.heapify(pending)
    about, fed = TimelineFilter(subject, emails), 0
    page: list[EventEnvelope] = []
    while pending and (limit is None or len(page) < limit):
        position = heapq.heappop(pending)
        if position <= fed:
            continue  # named twice
        fed = position
        if position not in events.by_position:
            ahead = BATCH if limit is None else min(BATCH, 2 * (limit - len(page)) + 8)
            await events.read([position, *heapq.nsmallest(ahead - 1, pending)])
        envelope = events.by_position.get(position)
        if envelope is None:
            continue  # not a published event (the index holds only those)
        found = mentions(envelope)
        new_ids = found.ids["invitation"] - ids
        new_addresses = set()
        if subject.kind == "user" and envelope.type == "UserRegistered" and found.names(subject):
            new_addresses = found.emails - addresses
        if new_ids or new_addresses:
            ids |= new_ids
            addresses |= new_addresses
            for later in await events.naming(new_ids, new_addresses, position):
                heapq.heappush(pending, later)
        if about.is_about(envelope, found) and position > after:
            page.append(envelope)
    return page


async def _teaching(events: _Events, page: list[EventEnvelope], last: int) -> None:
    """Read the events before `last` that teach the names and windows `page` mentions.

    Chargers in a `chargers` list of references need none: each reference carries the
    name or serial number its charger was registered with, which is what the directory
    would have learnt (no command renames a charger), and a sentence names them by
    `Directory.charger_list`. Without this, one UserAccessChanged over 1 000 chargers
    read 1 000 registrations for a page of the timeline."""
    ids: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for envelope in page:
        named = named_ids({k: v for k, v in envelope.data.items() if k != "chargers"})
        if envelope.actor:
            named.add(envelope.actor)
        ids |= named
        charger, user = envelope.data.get("charger_id"), envelope.data.get("user_id")
        if charger is not None and user is not None:
            pairs.add((str(charger), str(user)))
    chargers, users = [c for c, _ in sorted(pairs)], [u for _, u in sorted(pairs)]
    rows = await events.conn.fetch(render(_TEACHING, events.schema), sorted(ids), last,
                                   chargers, users, list(WINDOW_TYPES))
    await events.read(r["position"] for r in rows)
