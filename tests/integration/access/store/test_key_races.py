"""Users racing for one token (different case, separate executors as separate instances
would be), against the real PostgreSQL store: the claim lets exactly one key have it."""

from __future__ import annotations

import uuid

import pytest

from services.access.executor import Executor
from services.access.store.application import AccessStore
from tests.integration.access.store.test_races import RULES, race, register, run, store  # noqa: F401

pytestmark = pytest.mark.integration


def test_ten_users_adding_one_token_concurrently_have_exactly_one_winner(store: AccessStore) -> None:  # noqa: F811
    users = [register(store) for _ in range(10)]
    results = race(store, [
        ("AddChargeKey", user, {"key_id": str(uuid.uuid4()), "user_id": str(user),
                                "id_token": "race-token" if i % 2 else "RACE-TOKEN"})
        for i, user in enumerate(users)
    ])
    assert [r.status for r in results].count("accepted") == 1
    assert {r.reason for r in results if r.status == "rejected"} == {"key_taken"}
    winner = users[[r.status for r in results].index("accepted")]
    loser = next(u for u in users if u != winner)
    again = run(Executor(store, RULES), "AddChargeKey", loser, key_id=str(uuid.uuid4()),
                user_id=str(loser), id_token="Race-Token")
    assert again.reason == "key_taken"
