"""Marking a sent-log row *handed over* in the instant its e-mail's last byte leaves.

The mark must not be a round trip later than the e-mail (a crash in between would send
it again) nor earlier (a crash in between would count an e-mail never sent). So each SMTP
sender keeps a database connection of its own, ready before the message goes, and the
mark is written to it right after the final `.` (`smtp.wire`), by `start_now`: both
writes are in the kernel's socket buffers a few microseconds apart, and the kernel sends
them even if the process is killed next. PostgreSQL commits a statement it has received
even when the client is gone. The statement is prepared when the connection is made
ready, before the e-mail goes: executing a prepared statement is one write (bind,
execute, sync), where preparing it then would wait a round trip before anything is sent.
Prepared, PostgreSQL neither parses nor plans it per e-mail.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING, Any
from uuid import UUID

import asyncpg

from services.common.start_now import start_now

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy
    from asyncpg.prepared_stmt import PreparedStatement

MARK = """
UPDATE notifications.sent_log SET handed_over_at = clock_timestamp()
 WHERE event_id = $1::uuid AND recipient = $2::text AND status = 'pending'
"""
NO_ROW, NO_ROW_KEY = UUID(int=0), "k1:" + "0" * 64
"""A sent-log key no row has (recipient keys are HMACs): the mark that ends `ready`."""


class HandOverMarks:
    """One sender's connection for its marks, taken from the pool once and kept."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self._pool = pool
        self._connection: PoolConnectionProxy[Any] | None = None
        self._statement: PreparedStatement[Any] | None = None
        self._failed = False

    async def ready(self) -> None:
        """Have an open connection before the e-mail goes (reconnects after an outage)."""
        if self._usable():
            return
        await self.close()
        self._connection = await self._pool.acquire()
        try:
            self._statement = await self._connection.prepare(MARK)
            # asyncpg's prepare ends without a Sync: until the next statement the
            # connection holds an implicit transaction, and with it the lock the parse
            # took on the sent-log (forgetting's LOCK TABLE would wait on it, and the
            # whole service with it, while no e-mail goes). A mark of no row ends it.
            await self._statement.fetchval(NO_ROW, NO_ROW_KEY)
        except BaseException:
            await self.close()
            raise

    def _usable(self) -> bool:
        if self._connection is None or self._failed:
            return False  # after a failed mark, don't trust the connection's state
        try:
            return not self._connection.is_closed()
        except asyncpg.InterfaceError:
            return False  # it broke and the pool took it back: the proxy is detached

    def mark(self, event_id: UUID, recipient: str) -> asyncio.Future[object]:
        """Write the mark now; the future says whether it was stored."""
        if self._statement is None:
            raise RuntimeError("call ready() first")
        marked = start_now(self._statement.fetchval(event_id, recipient))
        marked.add_done_callback(self._note)
        return marked

    def _note(self, marked: asyncio.Future[object]) -> None:
        if marked.cancelled() or marked.exception() is not None:
            self._failed = True

    async def close(self) -> None:
        connection, self._connection, self._failed = self._connection, None, False
        self._statement = None
        if connection is not None:
            with contextlib.suppress(Exception):
                await self._pool.release(connection)
