"""SMTP delivery over a small pool of reused connections (`smtp.wire`).

Connecting per e-mail caps throughput at a few dozen a second; a pool of open
connections, each sending one message at a time, lets several e-mails go out at once.
Failures are sorted into the two cases the caller treats differently: `TransientSmtpError`
(4xx replies, refused or dropped connections, timeouts: try again later) and
`PermanentSmtpError` (5xx: record as failed, never retry). Each carries a `reason` for
`/metrics`; a refused login or missing TLS is transient and server-wide (no e-mail is
failed for the server's configuration, or ours: they wait until it is fixed).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.notifications.mail.message import OutgoingEmail
from services.notifications.smtp.replies import (
    AuthenticationError,
    ConnectionLostError,
    ReplyError,
    TlsFailedError,
    TlsUnavailableError,
)
from services.notifications.smtp.security import SmtpSecurity
from services.notifications.smtp.wire import SmtpConnection

REASONS = ("deferred", "refused", "connection", "tls_unavailable", "tls_failed", "auth_refused")
"""Why a send failed, as `/metrics` counts it: a 4xx, a 5xx, a broken or refused
connection, no STARTTLS where required, a failed TLS handshake, a refused login."""


class SmtpError(Exception):
    def __init__(self, message: str, code: int | None = None, reason: str = "connection"
                 ) -> None:
        super().__init__(message)
        self.code = code
        self.reason = reason


class TransientSmtpError(SmtpError):
    """Worth retrying: the server or the network may recover."""

    @property
    def server_down(self) -> bool:
        """The whole server is unavailable (no connection, or 421 "closing"), not just
        this one e-mail deferred: other e-mails need not be tried until it is back."""
        return self.code is None or self.code == 421


class PermanentSmtpError(SmtpError):
    """The server refused this e-mail for good (5xx)."""


def classify(error: Exception) -> SmtpError:
    """Map a refusal or a broken connection onto transient or permanent."""
    if isinstance(error, ReplyError):
        if error.reply.code >= 500:
            return PermanentSmtpError(str(error), error.reply.code, "refused")
        return TransientSmtpError(str(error), error.reply.code, "deferred")
    reason = "connection"
    if isinstance(error, AuthenticationError):
        reason = "auth_refused"
    elif isinstance(error, TlsUnavailableError):
        reason = "tls_unavailable"
    elif isinstance(error, TlsFailedError):
        reason = "tls_failed"
    return TransientSmtpError(f"{type(error).__name__}: {error}", reason=reason)


class SmtpPool:
    """Up to `size` open connections to one server, each used by one sender at a time."""

    def __init__(self, host: str, port: int, size: int = 8, timeout: float = 30.0,
                 security: SmtpSecurity | None = None) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout
        self._security = security or SmtpSecurity()
        self._context = self._security.context()  # one per pool: it loads the CA file
        self._idle: asyncio.Queue[SmtpConnection | None] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(None)  # connected on first use

    async def send(
        self, message: OutgoingEmail, handed_over: Callable[[], None] = lambda: None
    ) -> None:
        """Send one message; raises TransientSmtpError or PermanentSmtpError. See
        `smtp.wire` for `handed_over`."""
        connection = await self._idle.get()
        try:
            if connection is None or not connection.is_open:
                connection = await SmtpConnection.open(
                    self._host, self._port, self._timeout,
                    security=self._security, context=self._context)
            await connection.send(message.sender, message.recipient, message.data, handed_over)
        except (ReplyError, ConnectionLostError, OSError) as error:
            if connection is not None and (
                not isinstance(error, ReplyError) or error.reply.code == 421
            ):
                connection.close()  # unknown state, or the server is closing: reopen later
            raise classify(error) from error
        finally:
            self._idle.put_nowait(connection if connection is None or connection.is_open else None)

    async def close(self) -> None:
        while not self._idle.empty():
            connection = self._idle.get_nowait()
            if connection is not None and connection.is_open:
                await connection.quit()
