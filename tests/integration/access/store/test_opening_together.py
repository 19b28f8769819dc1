"""Processes opening the store on a new database at the same moment (instances starting
together, the fleet generator's workers) each get a store: the tables' creation is
serialised, where it raced on the catalogue ("tuple concurrently updated")."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from services.access.store.application import open_store

pytestmark = pytest.mark.integration

OPENERS = 6
ROUNDS = 4


def test_stores_opened_at_once_on_a_new_database_all_open(
        new_database: Callable[[], str]) -> None:
    failures: list[BaseException] = []
    for _ in range(ROUNDS):
        url = new_database()
        start = threading.Barrier(OPENERS)

        def open_one(url: str = url, start: threading.Barrier = start) -> None:
            start.wait()
            try:
                open_store(url, pool_size=1).close()
            except Exception as e:  # collected, asserted below
                failures.append(e)

        threads = [threading.Thread(target=open_one) for _ in range(OPENERS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
