"""Marking a sent-log row *handed over* in the instant its e-mail's last byte leaves.

The mark must not be a round trip later than the e-mail (a crash in between would send
it again) nor earlier (a crash in between would count an e-mail never sent). So each SMTP
sender keeps a database connection of its own, ready before the message goes, and the
mark is written to it right after the final `.` (`smtp.wire`): both writes are in the
kernel's socket buffers microseconds apart, and the kernel sends them even if the process
is killed next. PostgreSQL commits a statement it has received even when the client is
gone. The statement is prepared when the connection is made ready, before the e-mail
goes: executing a prepared statement is one write (bind, execute, sync), and PostgreSQL
neither parses nor plans it per e-mail.

The connection is libpq's (psycopg's `pq` layer), driven here, not asyncpg's like the
rest of the service: `mark` hands libpq the statement, which libpq encodes in C and writes
at once. Those microseconds are the window in which a kill sends an e-mail twice: the
call, its write included, took 13-20 µs at the median where asyncpg's prepared statement
took 40-55 (two probes of the sender's path, 7 Dec; docs/reliability.md finding 15).
"""

from __future__ import annotations

import asyncio
import contextlib
from uuid import UUID

import psycopg
from psycopg import pq
from psycopg.rows import TupleRow

STATEMENT = b"hand_over_mark"
PREPARE = """
PREPARE hand_over_mark (uuid, text) AS
UPDATE notifications.sent_log SET handed_over_at = clock_timestamp()
 WHERE event_id = $1 AND recipient = $2 AND status = 'pending'
"""
"""Prepared by SQL (autocommit, so no transaction and no lock outlives it: forgetting's
LOCK TABLE must never wait on a sender that is between e-mails), executed by name."""


class MarkNotConfirmedError(Exception):
    """The mark is not known to be stored: the statement failed, or the connection broke
    or was closed before its reply (it may then have been stored all the same)."""


class HandOverMarks:
    """One sender's connection for its marks, made when first made ready and kept;
    remade after it broke or a mark failed. One mark in flight at a time, as a sender
    sends one e-mail at a time."""

    def __init__(self, conninfo: str) -> None:
        self._conninfo = conninfo
        self._connection: psycopg.AsyncConnection[TupleRow] | None = None
        self._socket = -1
        self._pending: asyncio.Future[object] | None = None
        self._failed = False

    async def ready(self) -> None:
        """Have an open connection before the e-mail goes (reconnects after an outage)."""
        if self._usable():
            return
        await self.close()
        connection = await psycopg.AsyncConnection.connect(self._conninfo, autocommit=True)
        try:
            await connection.execute(PREPARE)
            connection.pgconn.nonblocking = 1
            self._socket = connection.pgconn.socket
        except BaseException:
            await connection.close()
            raise
        self._connection = connection
        asyncio.get_running_loop().add_reader(self._socket, self._readable)

    def _usable(self) -> bool:
        connection = self._connection
        if connection is None or self._failed:
            return False  # after a failed mark, don't trust the connection's state
        # A mark still in flight (its waiter cancelled): a new connection, not a wait.
        return connection.pgconn.status == pq.ConnStatus.OK and self._pending is None

    def mark(self, event_id: UUID, recipient: str) -> asyncio.Future[object]:
        """Write the mark now; the future says whether it was stored (raises
        `MarkNotConfirmedError` unless that is known)."""
        connection = self._connection
        if connection is None:
            raise RuntimeError("call ready() first")
        if self._pending is not None:
            raise RuntimeError("a mark is already in flight on this connection")
        pgconn = connection.pgconn
        try:
            pgconn.send_query_prepared(STATEMENT, [str(event_id).encode(), recipient.encode()])
            if pgconn.flush():  # the socket's buffer full: the rest when it drains
                asyncio.get_running_loop().add_writer(self._socket, self._writable)
        except psycopg.Error as error:
            self._failed = True
            raise MarkNotConfirmedError(str(error)) from error
        pending = self._pending = asyncio.get_running_loop().create_future()
        return pending

    def _writable(self) -> None:
        connection = self._connection
        if connection is None:
            return
        try:
            if connection.pgconn.flush() == 0:
                asyncio.get_running_loop().remove_writer(self._socket)
        except psycopg.Error as error:
            asyncio.get_running_loop().remove_writer(self._socket)
            self._settle(error)

    def _readable(self) -> None:
        """The reply (or the connection's end): take what libpq has without blocking."""
        connection = self._connection
        if connection is None:
            return
        pgconn = connection.pgconn
        try:
            pgconn.consume_input()
            if pgconn.status != pq.ConnStatus.OK:
                raise psycopg.OperationalError("the marks' connection was lost")
            while not pgconn.is_busy():
                result = pgconn.get_result()
                if result is None:  # the end of the statement's results
                    self._settle(None)
                    return
                if result.status != pq.ExecStatus.COMMAND_OK:
                    message = (result.error_message or b"").decode(errors="replace")
                    self._settle(MarkNotConfirmedError(message or str(result.status)))
        except psycopg.Error as error:  # the connection broke (its socket closed)
            asyncio.get_running_loop().remove_reader(self._socket)
            self._settle(error)

    def _settle(self, error: BaseException | None) -> None:
        """End the mark in flight: stored, or not (and the connection then distrusted)."""
        if error is not None:
            self._failed = True
        pending, self._pending = self._pending, None
        if pending is None or pending.done():
            return
        if error is None:
            pending.set_result(None)
        else:
            pending.set_exception(error if isinstance(error, MarkNotConfirmedError)
                                  else MarkNotConfirmedError(str(error)))

    async def close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            loop = asyncio.get_running_loop()
            loop.remove_reader(self._socket)
            loop.remove_writer(self._socket)
        self._settle(MarkNotConfirmedError("the marks' connection was closed first"))
        self._failed = False
        if connection is not None:
            with contextlib.suppress(Exception):
                await connection.close()
