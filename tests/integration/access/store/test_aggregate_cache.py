"""The aggregates a store keeps between batches (`store/cache.py`), against the real
PostgreSQL store and two instances writing the same aggregates: what each keeps is always
what decoding the log gives, a command on a kept state sees what the other instance
stored since, and a person forgotten by one instance leaves no plaintext kept by the
other past its next batch."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from services.access.executor import Executor
from services.access.store.application import AccessStore, open_store
from tests.integration.access.store.test_races import RULES, run

pytestmark = pytest.mark.integration


@pytest.fixture
def instances(database_url: str) -> Iterator[tuple[AccessStore, AccessStore, AccessStore]]:
    """Two stores keeping aggregates (two instances' executors) and one that does not."""
    made = (open_store(database_url, pool_size=2, cache=1000),
            open_store(database_url, pool_size=2, cache=1000),
            open_store(database_url, pool_size=2))
    yield made
    for store in made:
        store.close()


def decoded(plain: AccessStore, aggregate_id: uuid.UUID, version: int | None = None
            ) -> dict[str, Any]:
    found = plain.repository.get(aggregate_id, version=version)
    return vars(found)


def assert_kept_as_logged(store: AccessStore, plain: AccessStore) -> None:
    """What it keeps is the log's state at the kept version (the other instance may have
    written since), and what a batch loads is the log's state now."""
    assert store.cache is not None
    kept = store.cache.kept()
    for aggregate_id, state in kept.items():
        assert vars(state) == decoded(plain, aggregate_id, state.version), type(state).__name__
    _seen, loaded = store.load_batch([], list(kept))
    for aggregate_id, state in loaded.items():
        assert state is not None
        assert vars(state) == decoded(plain, aggregate_id), type(state).__name__


def test_two_instances_keep_what_the_log_says_and_see_each_others_writes(
        instances: tuple[AccessStore, AccessStore, AccessStore]) -> None:
    one, two, plain = instances
    first, second = Executor(one, RULES), Executor(two, RULES)
    owner, guest = uuid.uuid4(), uuid.uuid4()
    for user in (owner, guest):
        assert run(first, "RegisterUser", user, user_id=str(user),
                   email=f"{user}@example.no").status == "accepted"
    chargers = [uuid.uuid4() for _ in range(3)]
    for n, charger in enumerate(chargers):  # the instances take turns on the same owner
        executor = first if n % 2 == 0 else second
        assert run(executor, "RegisterCharger", owner, charger_id=str(charger),
                   serial_number=f"KC-{charger.hex[:12]}").status == "accepted"
    # Each grant and removal runs on the instance that did not make the last change, on
    # the owner, guest and charger states it kept before that change.
    for n in range(6):
        executor = (first, second)[n % 2]
        if n % 4 == 3:
            result = run(executor, "RemoveUser", owner, user_id=str(guest))
        else:
            result = run(executor, "UpdateUserAccess", owner, user_id=str(guest),
                         charger_ids=[str(c) for c in chargers[: n % 3 + 1]], level="charge")
        assert result.status == "accepted", result
        assert_kept_as_logged(one, plain)
        assert_kept_as_logged(two, plain)
    assert one.cache is not None
    assert two.cache is not None
    assert one.cache.hits > 0
    assert two.cache.hits > 0
    assert vars(plain.load(guest)) == vars(two.load(guest))


def test_a_person_forgotten_by_one_instance_is_kept_by_the_other_no_longer(
        instances: tuple[AccessStore, AccessStore, AccessStore]) -> None:
    one, two, plain = instances
    first, second = Executor(one, RULES), Executor(two, RULES)
    owner, person = uuid.uuid4(), uuid.uuid4()
    address = f"{person}@example.no"
    for user, email in ((owner, f"{owner}@example.no"), (person, address)):
        assert run(first, "RegisterUser", user, user_id=str(user),
                   email=email).status == "accepted"
    charger = uuid.uuid4()
    assert run(first, "RegisterCharger", owner, charger_id=str(charger),
               serial_number=f"KF-{charger.hex[:12]}").status == "accepted"
    invitation = uuid.uuid4()
    assert run(second, "InviteUser", owner, invitation_id=str(invitation), email=address,
               charger_ids=[str(charger)]).status == "accepted"
    assert run(second, "ResendInvitation", owner,
               invitation_id=str(invitation)).status == "accepted"
    assert two.cache is not None
    assert any(address in repr(vars(kept)) for kept in two.cache.kept().values())

    assert run(first, "ForgetUser", person, user_id=str(person)).status == "accepted"
    # The other instance's next batch, whatever it touches, drops what it kept.
    assert run(second, "RegisterUser", uuid.uuid4(), user_id=str(uuid.uuid4()),
               email=f"{uuid.uuid4()}@example.no").status == "accepted"
    assert not any(address in repr(vars(kept)) for kept in two.cache.kept().values())
    assert address not in repr(decoded(plain, invitation))
    assert_kept_as_logged(two, plain)
