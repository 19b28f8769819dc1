"""Executing a batch of commands with one commit (group commit).

The batch runs in memory on a unit of work, then its events and every command's result
are saved in one transaction. Only if that commit hits a conflict (another instance
wrote one of the same aggregates, or stored one of the same command ids) is the batch
re-run one command at a time, each re-checking its rules on fresh state, so two commands
racing on stale state never both win.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from eventsourcing.persistence import IntegrityError, PersistenceError

from charger_access_client.commands import Command
from charger_access_client.envelope import CommandResult
from services.access.domain.base import Cause
from services.access.domain.errors import Rejected
from services.access.handlers import HANDLERS
from services.access.handlers.context import Context, Rules
from services.access.handlers.prefetch import likely_aggregates
from services.access.handlers.unit_of_work import UnitOfWork
from services.access.ports import EventStore, Forgetting, PendingResult
from services.common import fault_points
from services.common.logs import about

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
STORE_ERRORS: tuple[type[Exception], ...] = (PersistenceError, psycopg.Error)
"""What the store raises when the database fails under a handler's read (an aggregate
the batch's prefetch did not load, a person's key): the store's fault, not the
command's."""
TRACEPARENT_KEY = "traceparent"
"""In a stored outcome, beside the result: never part of the result itself."""


class ContentionError(RuntimeError):
    """Raised when a command keeps losing races; the batch is redelivered, not answered."""


@dataclass(frozen=True)
class Valid:
    """A well-formed command, ready to run."""

    command_id: str
    actor: UUID
    type: str
    command: Command
    traceparent: str | None = None
    """W3C trace context to continue; stored with the outcome when the command has events,
    so the relay can put it on them (`TRACEPARENT_KEY`)."""


@dataclass(frozen=True)
class Invalid:
    """A message with a command id whose command could not be read; its result is final."""

    command_id: str
    result: CommandResult
    traceparent: str | None = None


Item = Valid | Invalid
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


class Executor:
    def __init__(self, store: EventStore, rules: Rules, clock: Clock = utc_now) -> None:
        self._store = store
        self._rules = rules
        self._clock = clock

    def execute(self, items: Sequence[Item]) -> list[CommandResult]:
        """Run `items` in order; one result each, in the same order.

        A batch ends after each `ForgetUser`: its keys are deleted by its commit, so the
        commands after it must seal under the subjects' new keys, not under those."""
        results: list[CommandResult] = []
        start = 0
        for end, item in enumerate(items, 1):
            if end == len(items) or (isinstance(item, Valid) and item.type == "ForgetUser"):
                results.extend(self._execute(items[start:end]))
                start = end
        return results

    def _execute(self, items: Sequence[Item]) -> list[CommandResult]:
        try:
            return self._run(items)
        except IntegrityError:
            log.info("conflict in a batch of %d commands; running them one by one", len(items))
        return [self._run_alone(item) for item in items]

    def _run_alone(self, item: Item) -> CommandResult:
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return self._run([item])[0]
            except IntegrityError:
                log.info("conflict on command %s (attempt %d)", item.command_id, attempt)
        raise ContentionError(f"command {item.command_id} kept conflicting; try the batch later")

    def _run(self, items: Sequence[Item]) -> list[CommandResult]:
        seen, found = self._store.load_batch(
            [i.command_id for i in items],
            likely_aggregates([i for i in items if isinstance(i, Valid)]))
        uow = UnitOfWork(self._store.load)
        uow.preload(found)
        events: list[Any] = []
        pending: list[PendingResult] = []
        forgetting = Forgetting()
        handled: set[str] = set(seen)
        for item in items:
            if item.command_id in handled:
                continue
            handled.add(item.command_id)
            if isinstance(item, Invalid):
                outcome = item.result.model_dump(exclude={"position"}, exclude_none=True)
                pending.append(PendingResult(item.command_id, outcome))
                continue
            with about(command_id=item.command_id,
                       charger_id=getattr(item.command, "charger_id", None)):
                outcome, new_events = self._handle(uow, item, forgetting)
            if new_events and item.traceparent is not None:
                outcome[TRACEPARENT_KEY] = item.traceparent
            published = [i for i, e in enumerate(new_events) if getattr(e, "PUBLISHED", False)]
            index = len(events) + published[-1] if published else None
            events.extend(new_events)
            pending.append(PendingResult(item.command_id, outcome, index))
        fault_points.reached("access.before_commit")
        positions = (self._store.commit(events, pending, forgetting, uow.committed())
                     if pending else [])
        by_id = {p.command_id: p for p in pending}
        return [self._result(item, seen, by_id, positions) for item in items]

    def _handle(
        self, uow: UnitOfWork, item: Valid, forgetting: Forgetting
    ) -> tuple[dict[str, Any], list[Any]]:
        cause = Cause(actor=str(item.actor), command_id=item.command_id, at=self._clock())
        ctx = Context(uow=uow, cause=cause, rules=self._rules)
        try:
            detail = HANDLERS[type(item.command)](ctx, item.command)
        except Rejected as rejection:
            uow.discard()
            return {"command_id": item.command_id, "status": "rejected",
                    "reason": rejection.reason, "detail": rejection.detail}, []
        except STORE_ERRORS:
            # The batch fails and is redelivered. Answered here, a valid command would be
            # rejected for good: its stored result is what every redelivery replays.
            uow.discard()
            raise
        except Exception:
            # A bug must not turn one command into a poison batch redelivered forever.
            log.exception("handler for %s failed on command %s", item.type, item.command_id)
            uow.discard()
            return {"command_id": item.command_id, "status": "rejected", "reason": "invalid",
                    "detail": "the command could not be handled; it was not applied"}, []
        new_events = uow.accept()
        forgetting.include(ctx.forgetting)
        return {"command_id": item.command_id, "status": "accepted", "detail": detail}, new_events

    @staticmethod
    def _result(
        item: Item, seen: dict[str, dict[str, Any]], pending: dict[str, PendingResult],
        positions: list[int],
    ) -> CommandResult:
        if item.command_id in seen:
            return CommandResult.model_validate(_result_only(seen[item.command_id]))
        stored = pending[item.command_id]
        return CommandResult.model_validate({**_result_only(stored.outcome),
                                             "position": stored.position(positions)})


def _result_only(outcome: dict[str, Any]) -> dict[str, Any]:
    if TRACEPARENT_KEY not in outcome:
        return outcome
    return {name: value for name, value in outcome.items() if name != TRACEPARENT_KEY}
