"""Commands into the real executor, hundreds per commit, on a clock the generator owns.

Every command goes through the handlers (so every rule holds) and the store (so events
are sealed and chained as the service writes them). A rejection means the generator's
plan broke a rule: it stops the run rather than leave a history that says otherwise.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from uuid import UUID

from bench.fleet.store import SoleWriterStore
from charger_access_client.commands import Command
from services.access.domain.base import AccessAggregate
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import AccessStore
from services.common.config import DEV_TOKEN_SECRET

TOKEN_SECRET = DEV_TOKEN_SECRET.encode()
"""The local service's default secret: `make run` on the result accepts the tokens."""
INVITATION_TTL = timedelta(days=7)
STEP = timedelta(seconds=10)
"""Time between two commands: 10 M events (~2.4 M commands, in slots half again as long
as they need) span about a year."""


class PlanBrokenError(RuntimeError):
    """The domain rejected a generated command: the plan is wrong, not the domain."""


class Writer:
    def __init__(self, store: AccessStore, batch_size: int) -> None:
        self._store = SoleWriterStore(store)
        self._executor = Executor(self._store, Rules(TOKEN_SECRET, INVITATION_TTL),
                                  clock=self._tick)
        self._batch_size = batch_size
        self._pending: list[Valid] = []
        self._after: list[Callable[[], None]] = []
        self.now = self.limit = datetime.min.replace(tzinfo=UTC)
        self.commands = 0
        self._story = ""
        self._told = 0

    def begin(self, story: str, start: datetime, limit: datetime) -> None:
        """A story of its own (command ids `story:n`) on a clock from `start` that stops
        at `limit`. The clock is read when a batch runs: the last story must be settled."""
        assert not self._pending, "begin a story only when the last one is settled"
        self._story, self._told = story, 0
        self.now, self.limit = start, limit

    @property
    def events(self) -> int:
        return self._store.committed

    def _tick(self) -> datetime:
        self.now = min(self.now + STEP, self.limit)
        return self.now

    def run(self, actor: UUID, command: Command) -> None:
        self.commands += 1
        self._told += 1
        self._pending.append(Valid(f"{self._story}:{self._told}", actor,
                                   type(command).__name__, command))
        if len(self._pending) >= self._batch_size:
            self.flush()

    def after_commit(self, then: Callable[[], None]) -> None:
        """Run `then` at the next `settle`, once what was sent is committed (it reads
        committed state). Never at a mere batch boundary: so the order of commands, and
        with it the history, does not depend on the batch size."""
        self._after.append(then)

    def flush(self) -> None:
        batch, self._pending = self._pending, []
        if batch:
            for result in self._executor.execute(batch):
                if result.status != "accepted":
                    raise PlanBrokenError(f"{result.command_id}: {result.reason}: {result.detail}")

    def settle(self) -> None:
        """Commit what was sent, then run what waited for it, until nothing waits."""
        while self._pending or self._after:
            self.flush()
            then, self._after = self._after, []
            for step in then:
                step()

    def state(self, aggregate_id: UUID) -> AccessAggregate | None:
        return self._store.get(aggregate_id)

    def let_go(self) -> None:
        """Nothing kept in memory is needed again (a fleet is done): keep memory flat."""
        self._store.clear()
