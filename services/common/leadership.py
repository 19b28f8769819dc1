"""One leader per deployment for the work that must not run once per instance.

Each access-service instance executes commands, but the log's followers with effects
outside the database (the relay publishing `access.events`, the local-list publisher,
the boundary scheduler appending to the store) should run once: run by every instance,
each event went out once per instance (docs/scaling.md measured it). The leader is
whichever instance holds a PostgreSQL advisory lock on a connection of its own; the
lock is the database's, so no other coordinator is needed, and it goes with the session:
a leader that dies or loses the database frees it at once, and a standby takes over
within `retry_seconds`.

A leader that loses its connection stops leading as soon as a check notices (within
`check_seconds`); until then two may lead for a moment. That costs duplicates only,
never loss: every follower records what it has done in the database after the fact, and
consumers dedupe on ids, as they already must for a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Callable, Coroutine
from typing import Any, Literal

import asyncpg

from services.common.connection_lost import CONNECTION_LOST
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)

State = Literal["starting", "leader", "standby"]
Lead = Callable[[], Coroutine[Any, Any, None]]


def lock_key(name: str) -> int:
    """A stable signed 64-bit advisory-lock key for `name` (advisory locks are per database)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


class Leadership:
    def __init__(self, database_url: str, name: str, lead: Lead, *,
                 retry_seconds: float = 1.0, check_seconds: float = 1.0) -> None:
        """`lead` runs while this instance leads and is cancelled when it stops leading;
        it should run until cancelled (if it ends, leadership is given up and sought
        again, so a failing follower does not hold the lock from a healthy standby)."""
        self._url = database_url
        self.name = name
        self._key = lock_key(name)
        self._lead = lead
        self._retry = retry_seconds
        self._check = check_seconds
        self.state: State = "starting"
        self.terms = 0
        """How many times this instance has become leader."""

    @property
    def leading(self) -> bool:
        return self.state == "leader"

    async def run(self) -> None:
        """Seek the lock, lead while holding it, and seek it again after losing it."""
        while True:
            try:
                await self._term()
            except CONNECTION_LOST as e:
                log.warning("leadership %s: database connection lost (%s)", self.name, e)
            except Exception:  # never end: a deployment without a leader publishes nothing
                log.exception("leadership %s failed; seeking it again", self.name)
            self.state = "standby"
            await asyncio.sleep(self._retry)

    async def _term(self) -> None:
        conn = await asyncpg.connect(self._url, timeout=10)
        try:
            while not await conn.fetchval("SELECT pg_try_advisory_lock($1)", self._key):
                self.state = "standby"
                await asyncio.sleep(self._retry)
            self.state = "leader"
            self.terms += 1
            log.info("leading %s", self.name)
            await self._hold(conn)
        finally:
            self.state = "standby"
            with contextlib.suppress(Exception):
                await wait_for(conn.close(), self._check)
            conn.terminate()

    async def _hold(self, conn: asyncpg.Connection) -> None:
        """Run `lead` while the lock's session answers; cancel it when it does not."""
        leading = asyncio.create_task(self._lead(), name=f"leading {self.name}")
        try:
            while True:
                done, _ = await asyncio.wait({leading}, timeout=self._check)
                if done:
                    if leading.exception() is not None:
                        log.error("leadership %s: the leader's work failed; giving the "
                                  "lead up", self.name, exc_info=leading.exception())
                    await conn.execute("SELECT pg_advisory_unlock($1)", self._key)
                    return
                await wait_for(conn.fetchval("SELECT 1"), self._check)
        finally:
            leading.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await leading
