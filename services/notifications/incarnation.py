"""Which instance this is, so that its next incarnation takes its e-mails over at once.

A sender that dies holding leases leaves its rows to wait the lease out (`lease_seconds`,
120 s): nobody else can tell a dead holder from a slow one. An instance restarted under
the same name can: it holds the name's advisory lock, which PostgreSQL frees the moment
the predecessor's session ends (a killed process's socket closes with it). So at start it
takes the lock, then makes the predecessor's leased rows due (`SentLog.take_over`): those
it handed over are settled as sent, the others sent.

Two live instances must not share a name. If the lock stays taken (another instance
with this name is running), this one runs under a name of its own and takes nothing over.
The lock's connection is watched and the lock taken again after a database restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid

import asyncpg

log = logging.getLogger(__name__)

LOCK = "SELECT pg_try_advisory_lock(hashtextextended('charger-access/notifications/' || $1, 0))"
CHECK_SECONDS = 5.0


class Incarnation:
    def __init__(self, database_url: str, name: str, wait_seconds: float = 5.0) -> None:
        self._url = database_url
        self.name = name
        self._wait = wait_seconds
        self._connection: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None

    async def begin(self) -> bool:
        """Take this instance's name; True when it is the configured one (its
        predecessor's rows may be taken over), False when it had to take a unique one."""
        self._connection = await asyncpg.connect(self._url)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while not await self._connection.fetchval(LOCK, self.name):
            if loop.time() > deadline:
                taken, self.name = self.name, f"{self.name}-{uuid.uuid4().hex[:8]}"
                log.warning(
                    "another running notification service is named %r: running as %r "
                    "(set NOTIFICATIONS_INSTANCE to a name of its own)",
                    taken,
                    self.name,
                )
                assert await self._connection.fetchval(LOCK, self.name)
                self._watch = asyncio.create_task(self._keep())
                return False
            await asyncio.sleep(0.2)
        self._watch = asyncio.create_task(self._keep())
        return True

    async def _keep(self) -> None:
        """Take the lock again if its connection breaks (a database restart)."""
        while True:
            await asyncio.sleep(CHECK_SECONDS)
            try:
                assert self._connection is not None
                await self._connection.fetchval("SELECT 1")
            except Exception:
                with contextlib.suppress(Exception):
                    await self._relock()

    async def _relock(self) -> None:
        if self._connection is not None:
            self._connection.terminate()
        self._connection = await asyncpg.connect(self._url)
        if not await self._connection.fetchval(LOCK, self.name):
            log.error("lost the name %r to another instance", self.name)

    async def end(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
