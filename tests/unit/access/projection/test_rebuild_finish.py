"""The rebuild's finish (indexes set aside made again, every table vacuumed, then
analyzed) on two connections at once: what each connection was asked, recorded by fakes.

Whether the statements work is the integration tests' job (`test_read_rebuild.py`: the
tables swapped in are vacuumed and have every index); here, that the work is spread
and each step done before the next begins.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest

from services.access.projection import finishing
from services.access.projection.finishing import FINISHING_CONNECTIONS, finish

SCHEMA = "read_rebuild"
TABLES = ["access", "access_history", "chargers", "id_positions", "log_positions", "users"]
REMAKE = [("access_history", "ALTER TABLE access_history ADD CONSTRAINT pk"),
          ("log_positions", "CREATE INDEX log_positions_time"),
          ("log_positions", "ALTER TABLE log_positions ADD CONSTRAINT pk"),
          ("id_positions", "ALTER TABLE id_positions ADD CONSTRAINT pk")]


SHORT = "access_history"
"""The table the fakes say its first vacuum left with pages not all visible."""


class FakeConnection:
    def __init__(self, name: str, said: list[tuple[str, str]]) -> None:
        self.name = name
        self._said = said

    async def fetch(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        assert args == (SCHEMA,)
        if "relallvisible" in sql:  # after the first pass: which tables fell short
            self._said.append((self.name, "which tables fell short"))
            return [{"relname": SHORT, "relpages": 44, "relallvisible": 26}]
        assert "pg_tables" in sql
        return [{"tablename": table} for table in TABLES]

    async def execute(self, sql: str, *_: Any) -> None:
        self._said.append((self.name, sql))
        await asyncio.sleep(0.001)  # a statement takes time: the other connection goes on

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        yield


class FakePool:
    def __init__(self, said: list[tuple[str, str]]) -> None:
        self._said = said
        self.acquired = 0

    @contextlib.asynccontextmanager
    async def acquire(self) -> AsyncIterator[FakeConnection]:
        self.acquired += 1
        yield FakeConnection(f"pooled-{self.acquired}", self._said)


def on(said: list[tuple[str, str]], command: str) -> list[str]:
    """The tables `command` was run on, in order."""
    return [sql.rsplit(".", 1)[1].strip('"') for _, sql in said if sql.startswith(command)]


def test_the_tables_are_shared_among_two_connections_remade_then_vacuumed_then_analyzed(
) -> None:
    said: list[tuple[str, str]] = []
    pool = FakePool(said)
    asyncio.run(finish(pool, SCHEMA, REMAKE))  # type: ignore[arg-type]

    # Each table vacuumed once, then again the one whose first vacuum fell short, then
    # each analyzed once.
    *first, again = on(said, "VACUUM")
    assert sorted(first) == sorted(TABLES)
    assert again == SHORT
    assert sorted(on(said, "ANALYZE")) == sorted(TABLES)
    # Each step done before the next begins: no vacuum beside an index being made or an
    # ANALYZE (their snapshots would hold its horizon back).
    kinds = ["index" if "CONSTRAINT" in sql or "CREATE INDEX" in sql or "maintenance" in sql
             else "check" if sql == "which tables fell short" else sql.split()[0]
             for _, sql in said]
    steps = [kind for n, kind in enumerate(kinds) if n == 0 or kinds[n - 1] != kind]
    assert steps == ["index", "VACUUM", "check", "VACUUM", "ANALYZE"]
    # One connection to list the tables, two for each of the three steps, one to check.
    assert pool.acquired == 2 + 3 * FINISHING_CONNECTIONS
    for step in ("index", "ANALYZE"):
        assert len({name for (name, _), kind in zip(said, kinds, strict=True)
                    if kind == step}) == FINISHING_CONNECTIONS  # the work spread
    for table in {table for table, _ in REMAKE}:  # its statements in order, on one connection
        made = [said[n] for n, (_, sql) in enumerate(said)
                if sql in {s for t, s in REMAKE if t == table}]
        assert [sql for _, sql in made] == [s for t, s in REMAKE if t == table]
        assert len({name for name, _ in made}) == 1
    memory = [sql for _, sql in said if "maintenance_work_mem" in sql]
    assert memory
    assert all(finishing.INDEX_MEMORY in sql for sql in memory)


def test_a_statement_failing_on_one_connection_fails_the_finish_with_its_own_error() -> None:
    """As it would on one connection (a duplicate found when a primary key is made, say):
    the error itself, not a group of one, and the other connection stops too."""

    class Refusing(FakeConnection):
        async def execute(self, sql: str, *args: Any) -> None:
            if "log_positions_time" in sql:
                raise LookupError("refused")
            await super().execute(sql, *args)

    class RefusingPool(FakePool):
        @contextlib.asynccontextmanager
        async def acquire(self) -> AsyncIterator[FakeConnection]:
            self.acquired += 1
            yield Refusing(f"pooled-{self.acquired}", self._said)

    said: list[tuple[str, str]] = []
    with pytest.raises(LookupError, match="refused"):
        asyncio.run(finish(RefusingPool(said), SCHEMA, REMAKE))  # type: ignore[arg-type]
    assert on(said, "VACUUM") == []  # the indexes come first
