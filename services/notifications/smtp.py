"""SMTP delivery over a small pool of reused aiosmtplib connections.

Connecting per e-mail caps throughput at a few dozen a second; a pool of open
connections, each sending one message at a time, lets several e-mails go out at once.
Failures are sorted into the two cases the caller treats differently: `TransientSmtpError`
(4xx replies, refused or dropped connections, timeouts: try again later) and
`PermanentSmtpError` (5xx: record as failed, never retry).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import aiosmtplib
from aiosmtplib.typing import SMTPStatus

from services.notifications.message import OutgoingEmail

log = logging.getLogger(__name__)


class SmtpError(Exception):
    def __init__(self, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.code = code


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
    """Map an aiosmtplib/OS error onto transient or permanent."""
    if isinstance(error, aiosmtplib.SMTPRecipientsRefused):
        codes = [r.code for r in error.recipients]
        text = "; ".join(f"{r.code} {r.message}" for r in error.recipients)
        if codes and all(code >= 500 for code in codes):
            return PermanentSmtpError(text, max(codes))
        return TransientSmtpError(text, min(codes) if codes else None)
    if isinstance(error, aiosmtplib.SMTPResponseException) and not isinstance(
        error, aiosmtplib.SMTPConnectResponseError
    ):
        kind = PermanentSmtpError if error.code >= 500 else TransientSmtpError
        return kind(f"{error.code} {error.message}", error.code)
    return TransientSmtpError(f"{type(error).__name__}: {error}")


class SmtpPool:
    """Up to `size` open connections to one server, each used by one sender at a time."""

    def __init__(self, host: str, port: int, size: int = 8, timeout: float = 30.0) -> None:
        self._host = host
        self._port = port
        self._timeout = timeout
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        for _ in range(size):
            self._idle.put_nowait(self._new_client())

    def _new_client(self) -> aiosmtplib.SMTP:
        return aiosmtplib.SMTP(
            hostname=self._host, port=self._port, timeout=self._timeout, start_tls=False
        )

    async def send(self, message: OutgoingEmail) -> None:
        """Send one message; raises TransientSmtpError or PermanentSmtpError."""
        async with self._client() as client:
            try:
                if not client.is_connected:
                    await client.connect()
                    await client.ehlo()
                await _transaction(client, message)
            except (TimeoutError, aiosmtplib.SMTPException, OSError) as error:
                # aiosmtplib resets the envelope after a refusal; anything else leaves
                # the connection in an unknown state, so it is dropped and reopened.
                if not isinstance(
                    error, aiosmtplib.SMTPResponseException | aiosmtplib.SMTPRecipientsRefused
                ):
                    client.close()
                raise classify(error) from error

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[aiosmtplib.SMTP]:
        client = await self._idle.get()
        try:
            yield client
        finally:
            self._idle.put_nowait(client)

    async def close(self) -> None:
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                with contextlib.suppress(aiosmtplib.SMTPException, OSError):
                    await client.quit()


async def _transaction(client: aiosmtplib.SMTP, message: OutgoingEmail) -> None:
    """MAIL, RCPT, DATA for one message. `sendmail` would parse both addresses with the
    stdlib's `parseaddr` four times (a third of our CPU per e-mail); ours are checked
    plain ASCII atext `local@domain` already (`message.address`), so they go as they are.
    Errors are raised as `sendmail` raises them, and the envelope is reset after one."""
    try:
        response = await client.execute_command(
            b"MAIL", b"FROM:<" + message.sender.encode("ascii") + b">"
        )
        if response.code != SMTPStatus.completed:
            raise aiosmtplib.SMTPSenderRefused(response.code, response.message, message.sender)
        response = await client.execute_command(
            b"RCPT", b"TO:<" + message.recipient.encode("ascii") + b">"
        )
        if response.code not in (SMTPStatus.completed, SMTPStatus.will_forward):
            raise aiosmtplib.SMTPRecipientsRefused(
                [
                    aiosmtplib.SMTPRecipientRefused(
                        response.code, response.message, message.recipient
                    )
                ]
            )
        await client.data(message.data)
    except (aiosmtplib.SMTPResponseException, aiosmtplib.SMTPRecipientsRefused):
        with contextlib.suppress(ConnectionError, aiosmtplib.SMTPResponseException):
            await client.rset()
        raise
