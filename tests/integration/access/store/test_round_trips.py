"""How many times a batch waits on PostgreSQL: counted on the wire, not timed.

A lone command's latency is mostly these waits, each a wake-up of two processes on a busy
machine. psycopg's `transaction()` inside a pipeline and rows fetched before the pipeline
closes each add one without changing a single statement, so a refactor could bring them
back unseen: the store is reached here through a relay that counts *turns*, the times the
client starts sending again after the server has answered.
"""

from __future__ import annotations

import logging
import socket
import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta
from urllib.parse import urlparse, urlunparse

import pytest
from eventsourcing.persistence import IntegrityError
from psycopg.pq import TransactionStatus

from charger_access_client.commands import COMMAND_TYPES
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.ports import Forgetting, PendingResult
from services.access.store.application import AccessStore, open_store
from services.access.store.recorder import ResultRecordingRecorder

pytestmark = pytest.mark.integration

RULES = Rules(b"round-trip-secret", timedelta(days=7))


class TurnCounter:
    """A TCP relay to PostgreSQL counting, over all its connections, each time a client
    sends after the server last spoke on that connection (a round trip begins)."""

    def __init__(self, host: str, port: int) -> None:
        self._target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._lock = threading.Lock()
        self.turns = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            server = socket.create_connection(self._target)
            answered = [True]  # the client's first bytes begin a round trip
            threading.Thread(target=self._pump, args=(client, server, answered, True),
                             daemon=True).start()
            threading.Thread(target=self._pump, args=(server, client, answered, False),
                             daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, answered: list[bool],
              from_client: bool) -> None:
        try:
            while data := source.recv(65536):
                with self._lock:
                    if from_client and answered[0]:
                        self.turns += 1
                    answered[0] = not from_client
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for end in (source, sink):
                end.close()

    def close(self) -> None:
        self._listener.close()


@pytest.fixture(scope="module")
def counted(database_url: str) -> Iterator[tuple[AccessStore, TurnCounter]]:
    url = urlparse(database_url)
    counter = TurnCounter(url.hostname or "127.0.0.1", url.port or 5432)
    netloc = url.netloc.rsplit("@", 1)
    host = f"127.0.0.1:{counter.port}"
    store = open_store(urlunparse(url._replace(
        netloc=f"{netloc[0]}@{host}" if len(netloc) == 2 else host)), pool_size=1)
    yield store, counter
    store.close()
    counter.close()


def turns_of(counted: tuple[AccessStore, TurnCounter], type_: str, actor: uuid.UUID,
             **data: object) -> int:
    store, counter = counted
    executor = Executor(store, RULES)
    command = COMMAND_TYPES[type_].model_validate(data)
    executor.execute([Valid(str(uuid.uuid4()), actor, "RegisterUser",
                            COMMAND_TYPES["RegisterUser"].model_validate(
                                {"user_id": str(actor), "email": f"{actor}@example.no"}))])
    before = counter.turns
    result = executor.execute([Valid(str(uuid.uuid4()), actor, type_, command)])[0]
    assert result.status == "accepted", result
    return counter.turns - before


def test_a_lone_command_waits_on_the_database_three_times(
    counted: tuple[AccessStore, TurnCounter],
) -> None:
    """Its reads (results seen, aggregates, keys) in one round trip; its commit in two:
    up to the insert that hands out positions, then the chain, results and COMMIT."""
    owner = uuid.uuid4()
    turns = turns_of(counted, "RegisterCharger", owner, charger_id=str(uuid.uuid4()),
                     serial_number=f"SN-{uuid.uuid4().hex[:12]}", name="Garasjen")
    assert turns == 3


def test_a_rejected_command_waits_twice(counted: tuple[AccessStore, TurnCounter]) -> None:
    """No events: the reads, then its stored result with the commit in one round trip."""
    store, counter = counted
    executor = Executor(store, RULES)
    stranger = uuid.uuid4()
    command = COMMAND_TYPES["RemoveUser"].model_validate({"user_id": str(uuid.uuid4())})
    before = counter.turns
    result = executor.execute([Valid(str(uuid.uuid4()), stranger, "RemoveUser", command)])[0]
    assert result.status == "rejected", result
    assert counter.turns - before == 2


def test_a_commit_refused_midway_leaves_its_connection_ready(
    database_url: str, caplog: pytest.LogCaptureFixture,
) -> None:
    """BEGIN and COMMIT are statements in the pipeline, so a refused commit leaves an
    aborted transaction behind; it must be rolled back before the pool has the
    connection again (the pool would, with a warning per conflict), and the next batch
    gets a ready connection (one connection here: the very same one)."""
    store = open_store(database_url, pool_size=1)
    try:
        executor = Executor(store, RULES)
        user = uuid.uuid4()
        register = COMMAND_TYPES["RegisterUser"].model_validate(
            {"user_id": str(user), "email": f"{user}@example.no"})
        command_id = str(uuid.uuid4())
        assert executor.execute([Valid(command_id, user, "RegisterUser", register)])[0].status \
            == "accepted"
        with caplog.at_level(logging.WARNING, "psycopg.pool"), \
                pytest.raises(IntegrityError):  # its result is stored already
            store.commit([], [PendingResult(command_id, {"command_id": command_id,
                                                         "status": "accepted"})], Forgetting())
        assert not [r for r in caplog.records if r.name.startswith("psycopg")]
        recorder = store.recorder
        assert isinstance(recorder, ResultRecordingRecorder)
        with recorder.datastore.get_connection() as conn:
            assert conn.info.transaction_status == TransactionStatus.IDLE
        again = executor.execute([Valid(str(uuid.uuid4()), user, "RegisterUser", register)])[0]
        assert (again.status, again.reason) == ("rejected", "already_exists")
    finally:
        store.close()
