"""One SMTP client connection, and the moment an e-mail is handed over.

SMTP has no idempotent send. Once the server has read the final `.` of DATA it delivers,
whether or not its `250` ever reaches us; a sender that dies in between and sends again
doubles the e-mail (RFC 1047). Recording "sent" *after* the 250 leaves that window open
for a whole round trip and a commit. This client instead calls `handed_over` the moment
the message's last bytes are in the kernel's socket buffer (which delivers them even if
the process is killed next), before waiting for the answer; the caller writes its mark in
that same instant, so only a few microseconds separate the two writes.

That needs control over when bytes leave the process, which is why this is our own small
client (commands, multi-line replies, timeouts: all our sends need) and not aiosmtplib.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass

from services.common import fault_points

_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_LEADING_PERIOD = re.compile(rb"(?m)^\.")
_REPLY_LINE = re.compile(rb"([2-5][0-9][0-9])([ -])(.*)")
MAX_REPLY_LINES = 100


@dataclass(frozen=True)
class Reply:
    code: int
    text: str


class ReplyError(Exception):
    """The server answered, but not with what the step needs."""

    def __init__(self, reply: Reply, step: str) -> None:
        super().__init__(f"{reply.code} {reply.text} (after {step})")
        self.reply = reply
        self.step = step


class ConnectionLostError(ConnectionError):
    """The connection broke, timed out, or the server spoke something that is not SMTP."""


class SmtpConnection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        # With no high-water mark, `drain` returns only once every byte is in the kernel.
        writer.transport.set_write_buffer_limits(high=0)

    @classmethod
    async def open(
        cls, host: str, port: int, timeout_seconds: float, local_hostname: str = "charger-access"
    ) -> SmtpConnection:
        try:
            async with asyncio.timeout(timeout_seconds):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as error:
            raise ConnectionLostError(f"cannot connect to {host}:{port}: {error!r}") from error
        connection = cls(reader, writer, timeout_seconds)
        try:
            await connection._expect((220,), "connect")
            hello = local_hostname.encode("ascii")
            try:
                await connection.command(b"EHLO " + hello, (250,))
            except ReplyError as refused:
                if refused.reply.code == 421:  # closing: HELO would fare no better
                    raise
                await connection.command(b"HELO " + hello, (250,))
        except ReplyError as refused:
            # A server that will not talk (554 greeting, 421) is down for every e-mail.
            connection.close()
            raise ConnectionLostError(f"session refused: {refused}") from refused
        except BaseException:
            connection.close()
            raise
        return connection

    @property
    def is_open(self) -> bool:
        """False once either side closed it (a server restart closes idle connections)."""
        return not self._writer.transport.is_closing() and not self._reader.at_eof()

    async def command(self, line: bytes, expect: Collection[int]) -> Reply:
        if b"\r" in line or b"\n" in line:
            raise ValueError("an SMTP command is one line")
        self._write(line + b"\r\n")
        return await self._expect(expect, line.split(b" ", 1)[0].decode("ascii", "replace"))

    async def send(
        self,
        sender: str,
        recipient: str,
        data: bytes,
        handed_over: Callable[[], None] = lambda: None,
    ) -> Reply:
        """MAIL, RCPT, DATA for one message. `handed_over` is called once the whole
        message, final `.` included, is in the kernel, before the server's answer is read.
        A refusal before DATA resets the envelope so the connection can be used again."""
        try:
            await self.command(b"MAIL FROM:<" + sender.encode("ascii") + b">", (250,))
            await self.command(b"RCPT TO:<" + recipient.encode("ascii") + b">", (250, 251))
            await self.command(b"DATA", (354,))
            fault_points.reached("notifications.mid_data")
        except ReplyError as refused:
            if refused.reply.code == 421:  # the server is closing the connection
                self.close()
            else:
                with contextlib.suppress(ReplyError, ConnectionLostError):
                    await self.command(b"RSET", (250,))
            raise
        self._write(_dot_stuffed(data) + b".\r\n")
        if self._writer.transport.get_write_buffer_size():
            await self._drain()
        fault_points.reached("notifications.after_last_byte_before_mark")
        handed_over()
        fault_points.reached("notifications.after_mark_before_reply")
        return await self._expect((250,), "end of data")

    async def quit(self) -> None:
        with contextlib.suppress(ReplyError, ConnectionLostError):
            await self.command(b"QUIT", (221,))
        self.close()

    def close(self) -> None:
        self._writer.close()

    def _write(self, data: bytes) -> None:
        if self._writer.transport.is_closing():
            raise ConnectionLostError("the connection is closed")
        self._writer.write(data)

    async def _drain(self) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.drain()
        except (OSError, TimeoutError) as error:
            self.close()
            raise ConnectionLostError(f"writing failed: {error!r}") from error

    async def _expect(self, codes: Collection[int], step: str) -> Reply:
        reply = await self._reply()
        if reply.code not in codes:
            raise ReplyError(reply, step)
        return reply

    async def _reply(self) -> Reply:
        """One reply, possibly of several lines (`250-...` up to `250 ...`)."""
        texts: list[str] = []
        try:
            async with asyncio.timeout(self._timeout):
                for _ in range(MAX_REPLY_LINES):
                    line = await self._reader.readuntil(b"\n")
                    match = _REPLY_LINE.fullmatch(line.rstrip(b"\r\n"))
                    if match is None:
                        raise ConnectionLostError(f"not an SMTP reply: {line[:80]!r}")
                    texts.append(match.group(3).decode("utf-8", "replace"))
                    if match.group(2) == b" ":
                        return Reply(int(match.group(1)), "\n".join(texts))
                raise ConnectionLostError("an SMTP reply of too many lines")
        except ConnectionLostError:
            self.close()
            raise
        except (OSError, TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError) as e:
            self.close()
            raise ConnectionLostError(f"no answer: {e!r}") from e


def _dot_stuffed(data: bytes) -> bytes:
    """CRLF line endings, a leading `.` doubled, and a final CRLF (RFC 5321 4.5.2)."""
    data = _LEADING_PERIOD.sub(b"..", _LINE_ENDINGS.sub(b"\r\n", data))
    return data if data.endswith(b"\r\n") else data + b"\r\n"
