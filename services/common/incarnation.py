"""Which instance of a service this is: a name, the same across its restarts and unique
among running instances, that lets a restarted instance take over from its dead
predecessor at once.

Nobody can tell a dead instance from a slow one, except its next incarnation: it holds
the name's advisory lock, which PostgreSQL frees the moment the predecessor's session
ends (a killed process's socket closes with it). Uses of the name:
- the notification service records it with its leases and, at start, makes its
  predecessor's leased rows due (`SentLog.take_over`) instead of waiting the lease out;
- both services use a configured name as their Kafka consumer's static group membership
  (`group_instance_id`): a restarted consumer gets its partitions back without waiting
  for the dead member's session to time out (~18 s → ~8 s on Tansu). The lock is what
  makes that safe: two live consumers never share an instance id. Names made up on the
  spot stay dynamic members: on Tansu, a static member that never comes back under its
  id blocks its group (real Kafka expires it after the session timeout).

If the lock stays taken (another instance with this name is running), this one runs
under a name of its own. The lock's connection is watched (its end noticed at once, and
checked every `CHECK_SECONDS`) and the lock taken again after a database restart, retried
every `RETRY_SECONDS` while the database refuses connections. A relock that finds the
name taken — another instance with this name started while the database was away — is
not survivable: two live consumers would share one static member id (and the notifier's
leases), so the instance is told (`on_lost`) and stops consuming; `lost` says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Awaitable, Callable

import asyncpg

from services.common.connection_lost import CONNECTION_LOST
from services.common.timeouts import wait_for

log = logging.getLogger(__name__)

LOCK = "SELECT pg_try_advisory_lock(hashtextextended('charger-access/' || $1, 0))"
CHECK_SECONDS = 5.0
RETRY_SECONDS = 0.5

OnLost = Callable[[], Awaitable[None]]


class Incarnation:
    def __init__(
        self, database_url: str, service: str, name: str, wait_seconds: float = 5.0,
        *, retry_seconds: float = RETRY_SECONDS,
    ) -> None:
        """`name`: the configured one; empty: a unique one (nothing to take over)."""
        self._url = database_url
        self._service = service
        self.name = name or f"anonymous-{uuid.uuid4().hex[:8]}"
        self.stable = False
        """Whether `name` is the configured one, held: the same across restarts."""
        self._configured = bool(name)
        self._wait = wait_seconds
        self._retry = retry_seconds
        self._connection: asyncpg.Connection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._broken = asyncio.Event()
        self._on_lost: OnLost | None = None
        self.lost = False
        """The name went to another instance after a database restart: stop consuming."""
        self.relocks = 0
        """How many times the name was taken again after its connection ended."""

    async def begin(self, on_lost: OnLost | None = None) -> bool:
        """Take this instance's name; True when it is the configured one (its
        predecessor's rows may be taken over), False when it had to take a unique one.
        `on_lost` is awaited if a relock ever finds the name taken: stop consuming there."""
        self._on_lost = on_lost
        self._connection = await self._connect()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._wait
        while not await self._connection.fetchval(LOCK, self._key):
            if loop.time() > deadline:
                taken, self.name = self.name, f"{self.name}-{uuid.uuid4().hex[:8]}"
                log.warning(
                    "another running %s service is named %r: running as %r "
                    "(give each instance a name of its own)",
                    self._service,
                    taken,
                    self.name,
                )
                assert await self._connection.fetchval(LOCK, self._key)
                self._watch = asyncio.create_task(self._keep())
                return False
            await asyncio.sleep(0.2)
        self._watch = asyncio.create_task(self._keep())
        self.stable = self._configured
        return True

    @property
    def group_instance_id(self) -> str | None:
        """The static group membership to use: the name when it is stable, else none.
        A member that comes back under another id would wait for its old one to expire
        (Tansu never expires it: the group stays stuck), so one-off names stay dynamic."""
        return self.name if self.stable else None

    @property
    def _key(self) -> str:
        return f"{self._service}/{self.name}"

    async def _connect(self) -> asyncpg.Connection:
        """A connection for the lock, whose end (a database restart) wakes the keeper."""
        self._broken.clear()
        connection = await asyncpg.connect(self._url)
        connection.add_termination_listener(self._ended)
        return connection

    def _ended(self, connection: object) -> None:
        # Only the lock's current connection: the one a relock just terminated may report
        # its end after the new one is in place, and must not break that one's lock.
        if connection is self._connection:
            self._broken.set()

    async def _keep(self) -> None:
        """Take the lock again if its connection breaks (a database restart); give up
        consuming (`on_lost`) if the name is someone else's by then."""
        while True:
            with contextlib.suppress(TimeoutError):
                await wait_for(self._broken.wait(), CHECK_SECONDS)
            if await self._alive():
                continue
            while True:
                try:
                    held = await self._relock()
                    break
                except CONNECTION_LOST as exc:  # the database is not back yet
                    log.warning("cannot take the name %r again yet (%s); retrying",
                                self.name, exc)
                    await asyncio.sleep(self._retry)
            if not held:
                await self._lose()
                return
            self.relocks += 1
            log.info("took the name %r again after the database came back", self.name)

    async def _alive(self) -> bool:
        if self._connection is None or self._broken.is_set():
            return False
        try:
            await self._connection.fetchval("SELECT 1")
        except CONNECTION_LOST:
            return False
        return True

    async def _relock(self) -> bool:
        """A new connection and the lock on it; False when another instance holds it."""
        if self._connection is not None:
            self._connection.terminate()
            self._connection = None
        self._connection = await self._connect()
        return bool(await self._connection.fetchval(LOCK, self._key))

    async def _lose(self) -> None:
        self.lost = True
        log.error("lost the name %r to another %s instance while the database was away: "
                  "this instance stops consuming", self.name, self._service)
        if self._on_lost is not None:
            await self._on_lost()

    async def end(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watch
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.close()
