"""A database failure while a handler reads (an aggregate the batch's prefetch did not
load) fails the batch, to be redelivered; it never answers the command.

Before, the executor's guard against handler bugs caught it and answered `rejected /
invalid`, and when the database was back for the commit that answer was stored: every
redelivery replayed it, so a valid command was refused for good. Seen on real PostgreSQL
(7 Dec): an outage starting just after a batch's prefetch and lasting 27-32 s (the
handler's read gave up after ~27 s, the commit's retries then found the database back)
stored the rejection of a valid `RegisterCharger`. Here the read fails at once, with the
events table renamed away under it and back before the commit.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import PersistenceError

from charger_access_client.commands import COMMAND_TYPES
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import open_store

pytestmark = pytest.mark.integration

RULES = Rules(b"store-failure-secret", timedelta(days=7))


def valid(actor: uuid.UUID, type_: str, **data: Any) -> Valid:
    return Valid(str(uuid.uuid4()), actor, type_, COMMAND_TYPES[type_].model_validate(data))


def test_a_failed_read_under_a_handler_is_redelivered_not_answered(new_database: Any) -> None:
    url = new_database()
    writer = open_store(url)
    owner = uuid.uuid4()
    [registered] = Executor(writer, RULES).execute(
        [valid(owner, "RegisterUser", user_id=str(owner), email=f"{owner.hex}@example.no")])
    assert registered.status == "accepted"
    store = open_store(url)  # nothing cached: the handler must read the owner
    executor = Executor(store, RULES)
    table = store.recorder.events_table_name  # type: ignore[attr-defined]
    prefetch, load = store.load_batch, store.load
    failed: list[Exception] = []

    def prefetch_then_lose_the_table(command_ids: Any, aggregate_ids: Any) -> Any:
        seen, _ = prefetch(command_ids, [])
        with psycopg.connect(url, autocommit=True) as admin:
            admin.execute(f'ALTER TABLE "{table}" RENAME TO "{table}_away"')
        return seen, {}

    def load_and_get_the_table_back(aggregate_id: Any) -> Any:
        try:
            return load(aggregate_id)
        except Exception as exc:
            failed.append(exc)
            raise
        finally:
            if len(failed) == 1:
                with psycopg.connect(url, autocommit=True) as admin:
                    admin.execute(f'ALTER TABLE "{table}_away" RENAME TO "{table}"')

    store.load_batch = prefetch_then_lose_the_table  # type: ignore[method-assign]
    store.load = load_and_get_the_table_back  # type: ignore[method-assign]
    command = valid(owner, "RegisterCharger", charger_id=str(uuid.uuid4()),
                    serial_number="WB-FAIL1")
    with pytest.raises(PersistenceError):
        executor.execute([command])
    assert len(failed) == 1, "the handler's read met the missing table"

    store.load_batch, store.load = prefetch, load  # type: ignore[method-assign]
    [redelivered] = executor.execute([command])
    assert (redelivered.status, redelivered.reason) == ("accepted", None)
