"""P1's peer: the same commands executed the way the `eventsourcing` library's own
`Application` executes them, one command per transaction.

PERFORMANCE.md judges our group commit (a batch of commands executed in memory and saved
in one transaction) against what the library gives anyone who writes the obvious
application: load each aggregate with `repository.get`, run the rules, `save` the new
events, one transaction per command, on the library's stock PostgreSQL recorder (its own
table in the same database). To do the same validation and uniqueness work, the peer
runs *our* handlers and aggregates (same events, same rules, same claims on e-mail and
serial) through a unit of work whose loads are the library's repository: only the way
commands are batched and saved differs. It stores no command results and seals no
personal data, which our service does: both make the peer cheaper, never dearer.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlparse
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from charger_access_client.envelope import CommandResult
from services.access.domain.base import AccessAggregate, Cause
from services.access.domain.errors import Rejected
from services.access.executor import Invalid, Item, Valid
from services.access.handlers import HANDLERS
from services.access.handlers.context import Context, Rules
from services.access.handlers.unit_of_work import UnitOfWork

PEER_NAME = "PeerAccess"
"""The peer's application name: its events go to `peeraccess_events`, not our table."""


def peer_env(database_url: str, threads: int) -> dict[str, str]:
    """The library's PostgreSQL settings for the peer, at its fastest for this work: a pool
    as large as the threads using it, the insert done by a stored function
    (`POSTGRES_ENABLE_DB_FUNCTIONS`), and the repository's aggregate cache without
    fast-forwarding (the peer is its table's only writer), so an aggregate a journey
    made is not read back from the database by the journey's next command."""
    url = urlparse(database_url)
    return {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": unquote(url.path.lstrip("/")) or "postgres",
        "POSTGRES_HOST": url.hostname or "127.0.0.1",
        "POSTGRES_PORT": str(url.port or 5432),
        "POSTGRES_USER": unquote(url.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(url.password or ""),
        "POSTGRES_POOL_SIZE": str(threads),
        "POSTGRES_MAX_OVERFLOW": "0",
        "POSTGRES_PRE_PING": "n",
        "POSTGRES_ENABLE_DB_FUNCTIONS": "y",
        "CREATE_TABLE": "y",
        "AGGREGATE_CACHE_MAXSIZE": "200000",
        "AGGREGATE_CACHE_FASTFORWARD": "n",
    }


class PeerApplication(Application[UUID]):
    name = PEER_NAME

    def load(self, aggregate_id: UUID) -> AccessAggregate | None:
        try:
            found: Any = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, AccessAggregate) else None


class _Changes(UnitOfWork):
    def changed(self) -> list[AccessAggregate]:
        """The aggregates this command changed (those with events to save)."""
        return [a for a in self._staged.values() if a.pending_events]


Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Peer:
    """Executes one command in one transaction, as an `eventsourcing` application would."""

    def __init__(self, app: PeerApplication, rules: Rules, clock: Clock = utc_now) -> None:
        self._app = app
        self._rules = rules
        self._clock = clock

    def execute(self, item: Item) -> CommandResult:
        if isinstance(item, Invalid):
            return item.result
        try:
            return self._run(item)
        except IntegrityError:
            # Another thread saved one of these aggregates first (the same claim, say):
            # the command is run again against what is stored now, once, as one would.
            return self._run(item)

    def _run(self, item: Valid) -> CommandResult:
        uow = _Changes(self._app.load)
        cause = Cause(actor=str(item.actor), command_id=item.command_id, at=self._clock())
        ctx = Context(uow=uow, cause=cause, rules=self._rules)
        try:
            detail = HANDLERS[type(item.command)](ctx, item.command)
        except Rejected as rejection:
            return CommandResult(command_id=item.command_id, status="rejected",
                                 reason=rejection.reason, detail=rejection.detail)
        # Saved as aggregates, not events, so the repository's cache keeps their new state.
        recordings = self._app.save(*uow.changed())
        position = recordings[-1].notification.id if recordings else None
        return CommandResult(command_id=item.command_id, status="accepted", detail=detail,
                             position=position)
