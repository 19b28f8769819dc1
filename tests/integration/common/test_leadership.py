"""One leader per database and name, on the real PostgreSQL: a second instance stands by,
takes over when the leader goes (stopped, or its session killed by the server), and a
leader whose work fails gives the lead up."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

import asyncpg
import pytest
from asyncpg.exceptions import InternalClientError

from services.common.leadership import Leadership
from tests.polling import until

pytestmark = pytest.mark.integration

FAST = {"retry_seconds": 0.05, "check_seconds": 0.05}
ADVISORY = """
    SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted
    AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"""
"""Advisory locks held in this test's database (pg_locks shows the whole server's: other
tests' services hold theirs at the same time)."""


class Work:
    """A lead that counts its terms and runs until cancelled (or fails when told)."""

    def __init__(self) -> None:
        self.running = 0
        self.started = 0
        self.fail = False

    async def __call__(self) -> None:
        self.started += 1
        self.running += 1
        try:
            if self.fail:
                raise RuntimeError("the leader's work failed")
            await asyncio.Event().wait()
        finally:
            self.running -= 1


@contextlib.asynccontextmanager
async def seeking(leadership: Leadership) -> AsyncIterator[asyncio.Task[None]]:
    task = asyncio.create_task(leadership.run())
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_one_leads_the_other_stands_by_and_takes_over_when_it_stops(database_url):
    first, second = Work(), Work()
    one = Leadership(database_url, "followers", first, **FAST)
    other = Leadership(database_url, "followers", second, **FAST)
    async with seeking(one) as one_task:
        await until(lambda: one.leading)
        async with seeking(other):  # seeks after the leader holds the lock
            await until(lambda: other.state == "standby")
            await asyncio.sleep(0.3)  # many retries: the standby must still not lead
            assert (first.running, second.running) == (1, 0)
            assert not other.leading

            one_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await one_task
            assert first.running == 0
            await until(lambda: other.leading)
            assert second.running == 1


async def test_another_name_has_a_leader_of_its_own(database_url):
    first, second = Work(), Work()
    async with seeking(Leadership(database_url, "relay", first, **FAST)), \
            seeking(Leadership(database_url, "other deployment", second, **FAST)):
        await until(lambda: first.running == 1 and second.running == 1)


async def test_a_leader_whose_session_the_server_ends_stops_leading(database_url, db):
    first, second = Work(), Work()
    one = Leadership(database_url, "followers", first, **FAST)
    other = Leadership(database_url, "followers", second, **FAST)
    async with seeking(one):
        await until(lambda: one.leading)
        async with seeking(other):
            await until(lambda: other.state == "standby")
            holder = await db.fetchval(ADVISORY.replace("count(*)", "pid"))
            assert await db.fetchval("SELECT pg_terminate_backend($1)", holder)
            # One of them leads again (either may win the race), never both for long.
            await until(lambda: one.terms + other.terms == 2)
            await until(lambda: first.running + second.running == 1)
            await asyncio.sleep(0.3)
            assert first.running + second.running == 1
            assert one.leading != other.leading


async def test_a_leader_whose_work_fails_gives_the_lead_up(database_url):
    failing, healthy = Work(), Work()
    failing.fail = True
    one = Leadership(database_url, "followers", failing, **FAST)
    async with seeking(one):
        await until(lambda: failing.started >= 1)
        other = Leadership(database_url, "followers", healthy, **FAST)
        async with seeking(other):
            await until(lambda: healthy.running == 1)
            locks = await asyncpg.connect(database_url)
            try:
                held = await locks.fetchval(ADVISORY)
            finally:
                await locks.close()
            assert held == 1


class SessionEndedOnce(asyncpg.Connection):  # type: ignore[misc]
    """The leader's session as asyncpg sees it when a check starts between the server's
    FATAL message and the socket's close: once, the check fails with the protocol's
    internal error (the CI failure this reproduces), then the session is gone."""

    ended = 0

    async def fetchval(self, query: str, *args: object, **kwargs: object) -> object:
        if query == "SELECT 1" and not SessionEndedOnce.ended:
            SessionEndedOnce.ended += 1
            raise InternalClientError(
                "cannot switch to state 11; another operation (2) is in progress")
        return await super().fetchval(query, *args, **kwargs)


async def test_a_leader_whose_session_ends_mid_check_seeks_the_lead_again(
        database_url, monkeypatch):
    connect = asyncpg.connect
    monkeypatch.setattr(
        "services.common.leadership.asyncpg.connect",
        functools.partial(connect, connection_class=SessionEndedOnce))
    work = Work()
    one = Leadership(database_url, "followers", work, **FAST)
    async with seeking(one) as task:
        await until(lambda: one.terms == 2 or task.done())
        assert not task.done(), "the leadership loop ended instead of seeking the lead again"
        assert SessionEndedOnce.ended == 1
        await until(lambda: work.running == 1)
        assert work.started == 2
