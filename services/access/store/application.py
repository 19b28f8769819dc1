"""The eventsourcing application that owns the event store, configured from DATABASE_URL."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import ApplicationRecorder, Mapper, StoredEvent
from eventsourcing.postgres import PostgresFactory

from services.access.domain.base import AccessAggregate
from services.access.ports import Forgetting, PendingResult
from services.access.store.cache import DEFAULT_BYTES, AggregateCache
from services.access.store.memory import MemoryResultRecorder
from services.access.store.personal.keyring import MemoryKeyRing, PostgresKeyRing
from services.access.store.personal.mapper import PersonalDataMapper
from services.access.store.personal.sealing import subjects_in
from services.access.store.personal.wrapping import configured_keks
from services.access.store.recorder import ResultRecordingRecorder

APPLICATION_NAME = "ChargerAccess"
EVENTS_TABLE = "chargeraccess_events"


def store_env(database_url: str, *, pool_size: int = 4) -> dict[str, str]:
    """eventsourcing's settings for the database in `database_url`."""
    url = urlparse(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "services.access.store.recorder:ResultRecordingRecorder",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": "2",
        "POSTGRES_LOCK_TIMEOUT": "10",
        "POSTGRES_CONNECT_TIMEOUT": "5",
        # No SELECT 1 before each use: a dropped connection raises, and the recorder's
        # retry (or the consumer's redelivery) covers it.
        "POSTGRES_PRE_PING": "n",
        "CREATE_TABLE": "y",
    }


class AccessStore(Application[UUID]):
    """Loads and saves aggregates; also the place stored command results are read from.

    The command path's `EventStore` (services/access/ports.py).
    """

    name = APPLICATION_NAME
    keyring: PostgresKeyRing | MemoryKeyRing

    def construct_mapper(self) -> Mapper[UUID]:
        if isinstance(self.factory, PostgresFactory):
            self.keyring = PostgresKeyRing(self.factory.datastore, configured_keks(self.env))
            self.keyring.create_tables()
        else:
            self.keyring = MemoryKeyRing()
        return PersonalDataMapper(self.construct_transcoder(), self.keyring)

    def construct_recorder(self) -> ApplicationRecorder:
        if self.env.get("PERSISTENCE_MODULE") == "eventsourcing.popo":
            assert isinstance(self.keyring, MemoryKeyRing)
            return MemoryResultRecorder(self.keyring)
        recorder = super().construct_recorder()
        assert isinstance(recorder, ResultRecordingRecorder)
        assert isinstance(self.keyring, PostgresKeyRing)
        recorder.keyring = self.keyring
        return recorder

    @property
    def results_recorder(self) -> ResultRecordingRecorder | MemoryResultRecorder:
        assert isinstance(self.recorder, ResultRecordingRecorder | MemoryResultRecorder)
        return self.recorder

    cache: AggregateCache | None = None
    """Aggregates kept between batches (`cache`), used by `load_batch`; each load gets a
    copy of its own. The service gives one to the executor's store, whose loads are the
    ones repeated batch after batch."""

    def load_batch(
        self, command_ids: Sequence[str], aggregate_ids: Iterable[UUID]
    ) -> tuple[dict[str, dict[str, Any]], dict[UUID, AccessAggregate | None]]:
        """A batch's start and prefetch in one round trip: the stored results of those
        of `command_ids` seen before, and several aggregates (absent ones as None)."""
        self.keyring.begin()
        wanted = list(set(aggregate_ids))
        cache = self.cache
        after = None if cache is None else [cache.version(i) for i in wanted]
        # Aggregate ids double as the subjects of personal data (users, e-mail claims):
        # their keys come in the same round trip.
        seen, stored, forgotten = self.results_recorder.select_batch(command_ids, wanted, after)
        if cache is not None and cache.forgotten(forgotten or 0) and any(after or ()):
            # Someone was forgotten since the last batch: nothing kept may be used, and
            # the read above asked only for what came after it.
            _seen, stored, _forgotten = self.results_recorder.select_batch([], wanted)
        return seen, self._decode(wanted, stored)

    def _decode(
        self, wanted: list[UUID], stored: dict[UUID, list[StoredEvent]]
    ) -> dict[UUID, AccessAggregate | None]:
        states = (e.state for events in stored.values() for e in events)
        self.keyring.lookup(subjects_in(states) | set(wanted))  # those not fetched yet
        cache = self.cache
        found: dict[UUID, AccessAggregate | None] = dict.fromkeys(wanted)
        if cache is not None:
            for aggregate_id in wanted:
                found[aggregate_id] = cache.get(aggregate_id)
        for aggregate_id, events in stored.items():
            # Events stored since it was kept (by another instance) apply to the cache's
            # copy: a decode that fails halfway leaves the kept state as it was.
            aggregate: Any = found[aggregate_id]
            for stored_event in events:
                event: Any = self.mapper.to_domain_event(stored_event)
                aggregate = event.mutate(aggregate)
            found[aggregate_id] = aggregate if isinstance(aggregate, AccessAggregate) else None
        if cache is not None:
            cache.keep(found[i] for i in stored)
        return found

    def commit(
        self, events: Sequence[Any], results: Sequence[PendingResult], forgetting: Forgetting,
        aggregates: Iterable[AccessAggregate | None] = (),
    ) -> list[int]:
        """A batch's events, its commands' results and its forgetting in one transaction;
        the events' notification ids. Straight to the event store: `Application.save`
        would test each event against a runtime-checkable Protocol (1.6 % of the command
        side's samples in P1's profile) only to collect what is a list of events already.
        `aggregates`: the batch's aggregates as the commit leaves them, kept for the next
        batch's loads once it has returned (a forgetting drops everything kept)."""
        recordings = self.events.put(list(events), command_results=list(results),
                                     forgetting=forgetting or None)
        self.keyring.forgotten(forgetting.subjects)
        if self.cache is not None:
            if forgetting:
                self.cache.clear()
            else:
                self.cache.keep(aggregates)
        return [r.notification.id for r in recordings]

    def load(self, aggregate_id: UUID) -> AccessAggregate | None:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, AccessAggregate) else None


def open_store(database_url: str, *, pool_size: int = 4, cache: int = 0,
               cache_bytes: int = DEFAULT_BYTES) -> AccessStore:
    """`cache`: how many events' worth of aggregates to keep between batches (0: none;
    `AccessStore.cache`), in at most `cache_bytes` of pickled states."""
    store = AccessStore(env=store_env(database_url, pool_size=pool_size))
    if cache:
        store.cache = AggregateCache(cache, cache_bytes)
    return store


def memory_store() -> AccessStore:
    """The same application on in-memory persistence, for unit tests."""
    return AccessStore(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
