"""Commands racing on the same aggregates from separate executors (as separate instances
would), against the real PostgreSQL store: optimistic concurrency lets exactly one win."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.envelope import CommandResult
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import AccessStore, open_store

pytestmark = pytest.mark.integration

RULES = Rules(b"race-secret", timedelta(days=7))


@pytest.fixture(scope="module")
def store(database_url: str) -> Iterator[AccessStore]:
    store = open_store(database_url, pool_size=24)
    yield store
    store.close()


def run(executor: Executor, type_: str, actor: uuid.UUID, **data: object) -> CommandResult:
    command = COMMAND_TYPES[type_].model_validate(data)
    return executor.execute([Valid(str(uuid.uuid4()), actor, type_, command)])[0]


def race(store: AccessStore, commands: list[tuple[str, uuid.UUID, dict[str, object]]]) -> list[CommandResult]:
    """Run each command on its own executor and thread, released at the same moment."""
    barrier = threading.Barrier(len(commands))
    results: list[CommandResult | None] = [None] * len(commands)

    def worker(index: int, type_: str, actor: uuid.UUID, data: dict[str, object]) -> None:
        executor = Executor(store, RULES)
        barrier.wait()
        results[index] = run(executor, type_, actor, **data)

    threads = [threading.Thread(target=worker, args=(i, *c)) for i, c in enumerate(commands)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert all(r is not None for r in results)
    return [r for r in results if r is not None]


def register(store: AccessStore, **extra: object) -> uuid.UUID:
    user = uuid.uuid4()
    result = run(Executor(store, RULES), "RegisterUser", user, user_id=str(user),
                 email=f"{user}@example.no", **extra)
    assert result.status == "accepted", result
    return user


def test_twenty_concurrent_transfers_of_one_charger_have_exactly_one_winner(store: AccessStore) -> None:
    owner = register(store)
    recipients = [register(store) for _ in range(20)]
    charger = uuid.uuid4()
    assert run(Executor(store, RULES), "RegisterCharger", owner, charger_id=str(charger),
               serial_number=f"R-{charger.hex[:12]}").status == "accepted"

    results = race(store, [
        ("TransferChargerToUser", owner,
         {"charger_id": str(charger), "recipient_email": f"{r}@example.no", "keep_connection": True})
        for r in recipients
    ])

    winners = [r for r in results if r.status == "accepted"]
    assert len(winners) == 1
    assert {r.reason for r in results if r.status == "rejected"} == {"forbidden"}
    loaded = store.load(charger)
    assert loaded is not None
    assert str(getattr(loaded, "owner_id")) in {str(r) for r in recipients}  # noqa: B009


def test_concurrent_registrations_of_one_email_let_one_win(store: AccessStore) -> None:
    email = f"same-{uuid.uuid4().hex[:8]}@example.no"
    users = [uuid.uuid4() for _ in range(10)]
    results = race(store, [("RegisterUser", u, {"user_id": str(u), "email": email}) for u in users])
    assert sorted(r.status for r in results) == ["accepted"] + ["rejected"] * 9
    assert {r.reason for r in results if r.status == "rejected"} == {"email_taken"}


def test_concurrent_accepts_of_one_invitation_grant_once(store: AccessStore) -> None:
    from services.common.tokens import invitation_token

    owner, guest = register(store), register(store)
    charger, invitation = uuid.uuid4(), uuid.uuid4()
    executor = Executor(store, RULES)
    run(executor, "RegisterCharger", owner, charger_id=str(charger), serial_number=f"A-{charger.hex[:12]}")
    assert run(executor, "InviteUser", owner, invitation_id=str(invitation), email=f"{guest}@example.no",
               charger_ids=[str(charger)]).status == "accepted"
    loaded = store.load(invitation)
    token = invitation_token(RULES.token_secret, invitation, getattr(loaded, "token_salt"))  # noqa: B009

    results = race(store, [("AcceptInvitation", guest, {"invitation_id": str(invitation), "token": token})] * 20)

    assert sorted(r.status for r in results) == ["accepted"] + ["rejected"] * 19
    assert {r.reason for r in results if r.status == "rejected"} == {"not_pending"}
    granted = [n for n in store.recorder.select_notifications(1, 100000)
               if n.topic.endswith("AccessGranted") and n.originator_id == charger]
    assert len(granted) == 1


def test_a_command_stored_by_another_instance_meanwhile_gets_that_result_and_applies_nothing(
    store: AccessStore, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The result's primary key fails only at commit (the save is pipelined): the batch
    rolls back, is rerun, and answers with the stored result."""
    first_user, second_user = uuid.uuid4(), uuid.uuid4()
    command_id = str(uuid.uuid4())

    def register_as(user: uuid.UUID) -> CommandResult:
        command = COMMAND_TYPES["RegisterUser"].model_validate(
            {"user_id": str(user), "email": f"{user}@example.no"})
        return Executor(store, RULES).execute([Valid(command_id, user, "RegisterUser", command)])[0]

    first = register_as(first_user)
    load_batch = store.load_batch
    blinded: list[bool] = []

    def not_seen_yet(command_ids: list[str], aggregate_ids: set[uuid.UUID]) -> object:
        seen, found = load_batch(command_ids, aggregate_ids)
        if not blinded:  # as if the other instance committed just after this read
            blinded.append(True)
            return {}, found
        return seen, found

    monkeypatch.setattr(store, "load_batch", not_seen_yet)
    again = register_as(second_user)
    assert blinded
    assert again == first
    assert store.load(second_user) is None
