"""The errors that mean "the database went away", for the loops that must outlive it.

asyncpg reports a lost session in more than one way, depending on when the loss is
noticed: `OSError` or `ConnectionDoesNotExistError` (an `InterfaceError`) mostly, a
`PostgresError` such as `AdminShutdownError` when the server says why, and
`InternalClientError` ("cannot switch to state 11; another operation (2) is in
progress") when a query starts between the server's FATAL message and the socket's
close: the protocol is still consuming that error. The last is not an `InterfaceError`,
so a loop that listed only the others died on it (seen in CI: a leader whose session
the server ended).
"""

from __future__ import annotations

import asyncpg
from asyncpg.exceptions import InternalClientError

CONNECTION_LOST: tuple[type[Exception], ...] = (
    OSError, TimeoutError, asyncpg.PostgresError, asyncpg.InterfaceError,
    InternalClientError,
)
