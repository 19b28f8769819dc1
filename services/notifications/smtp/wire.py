"""One SMTP client connection, and the moment an e-mail is handed over.

SMTP has no idempotent send. Once the server has read the final `.` of DATA it delivers,
whether or not its `250` ever reaches us; a sender that dies in between and sends again
doubles the e-mail (RFC 1047). Recording "sent" *after* the 250 leaves that window open
for a whole round trip and a commit. This client instead calls `handed_over` the moment
the message's last bytes are in the kernel's socket buffer (which delivers them even if
the process is killed next), before waiting for the answer; the caller writes its mark in
that same instant, so only a few microseconds separate the two writes (when the kernel
could not take them all at once, in the callback that writes the rest: `in_kernel`).

That needs control over when bytes leave the process, which is why this is our own small
client (commands, multi-line replies, timeouts, STARTTLS or implicit TLS, AUTH PLAIN/LOGIN,
PIPELINING: all our sends need) and not aiosmtplib. Over TLS the bytes pass through the
TLS layer's buffers first; the hand-over waits until the encrypted bytes are in the
kernel too.

When the server offers PIPELINING (RFC 2920; every mainstream MTA does), MAIL, RCPT and
DATA go in one write and their three replies are read together: two round trips and two
socket writes per e-mail instead of four, which on loopback is most of a send's cost.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import ssl
from collections.abc import Callable, Collection

from services.common import fault_points
from services.notifications.smtp.in_kernel import once_in_kernel
from services.notifications.smtp.replies import (
    REPLY_LINE,
    AuthenticationError,
    ConnectionLostError,
    Reply,
    ReplyError,
    TlsFailedError,
    TlsUnavailableError,
)
from services.notifications.smtp.security import SmtpSecurity

_LINE_ENDINGS = re.compile(rb"\r\n|\r|\n")
_LEADING_PERIOD = re.compile(rb"(?m)^\.")
MAX_REPLY_LINES = 100


class SmtpConnection:
    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, timeout: float
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._timeout = timeout
        # The socket's own transport: under TLS, the encrypted bytes wait here.
        self._socket = writer.transport
        # With no high-water mark, `drain` returns only once every byte is in the kernel.
        writer.transport.set_write_buffer_limits(high=0)
        self.encrypted = False
        self.pipelining = False
        """The server offered PIPELINING in its last EHLO answer."""

    @classmethod
    async def open(
        cls, host: str, port: int, timeout_seconds: float, local_hostname: str = "charger-access",
        *, security: SmtpSecurity | None = None, context: ssl.SSLContext | None = None,
    ) -> SmtpConnection:
        """Connect, greet, and secure and log in as `security` says (`context`: the TLS
        context to use, made from `security` when not given)."""
        security = security or SmtpSecurity()
        try:
            async with asyncio.timeout(timeout_seconds):
                reader, writer = await asyncio.open_connection(host, port)
        except (OSError, TimeoutError) as error:
            raise ConnectionLostError(f"cannot connect to {host}:{port}: {error!r}") from error
        connection = cls(reader, writer, timeout_seconds)
        try:
            if security.implicit_tls:
                await connection._start_tls(host, context or security.context())
            await connection._expect((220,), "connect")
            hello = local_hostname.encode("ascii")
            features = await connection._hello(hello)
            if not connection.encrypted and "STARTTLS" in features:
                await connection._starttls(host, port)
                await connection._start_tls(host, context or security.context())
                features = await connection._hello(hello)
            if not connection.encrypted and security.starttls == "required":
                raise TlsUnavailableError(
                    f"{host}:{port} offers no STARTTLS (SMTP_STARTTLS=required)")
            if security.credentials is not None:
                await connection._log_in(host, port, features, *security.credentials)
            connection.pipelining = "PIPELINING" in features
        except ReplyError as refused:
            # A server that will not talk (554 greeting, 421) is down for every e-mail.
            connection.close()
            raise ConnectionLostError(f"session refused: {refused}") from refused
        except BaseException:
            connection.close()
            raise
        return connection

    async def _hello(self, hello: bytes) -> dict[str, str]:
        """EHLO (HELO from an old server): the extensions it offers, by keyword."""
        try:
            reply = await self.command(b"EHLO " + hello, (250,))
        except ReplyError as refused:
            if refused.reply.code == 421:  # closing: HELO would fare no better
                raise
            await self.command(b"HELO " + hello, (250,))
            return {}
        features: dict[str, str] = {}
        for line in reply.text.split("\n")[1:]:
            keyword, _, parameters = line.strip().upper().partition(" ")
            if keyword.startswith("AUTH="):  # the pre-RFC 4954 spelling some servers add
                keyword, parameters = "AUTH", f"{keyword[5:]} {parameters}"
            features[keyword] = f"{features.get(keyword, '')} {parameters}".strip()
        return features

    async def _starttls(self, host: str, port: int) -> None:
        try:
            await self.command(b"STARTTLS", (220,))
        except ReplyError as refused:
            if refused.reply.code == 421:
                raise
            raise TlsUnavailableError(
                f"{host}:{port} offered STARTTLS but refused it: {refused.reply.code} "
                f"{refused.reply.text}") from None

    async def _start_tls(self, host: str, context: ssl.SSLContext) -> None:
        try:
            async with asyncio.timeout(self._timeout):
                await self._writer.start_tls(context, server_hostname=host)
        except (OSError, TimeoutError) as error:  # ssl.SSLError is an OSError
            raise TlsFailedError(f"TLS with {host} failed: {error!r}") from error
        self._writer.transport.set_write_buffer_limits(high=0)
        self.encrypted = True

    async def _log_in(
        self, host: str, port: int, features: dict[str, str], user: str, password: str
    ) -> None:
        """AUTH PLAIN, else AUTH LOGIN; only ever over TLS. The password is never in a
        message: a refusal quotes the server's reply only."""
        if not self.encrypted:
            raise TlsUnavailableError(
                f"{host}:{port} offers no TLS: not sending the SMTP_URL credentials in clear")
        offered = features.get("AUTH", "").split()
        try:
            if "PLAIN" in offered:
                token = b"\0" + user.encode() + b"\0" + password.encode()
                await self.command(b"AUTH PLAIN " + base64.b64encode(token), (235,), "AUTH")
            elif "LOGIN" in offered:
                await self.command(b"AUTH LOGIN", (334,))
                await self.command(base64.b64encode(user.encode()), (334,), "AUTH")
                await self.command(base64.b64encode(password.encode()), (235,), "AUTH")
            else:
                raise AuthenticationError(f"{host}:{port} offers neither AUTH PLAIN nor LOGIN")
        except ReplyError as refused:
            if refused.reply.code == 421:
                raise
            raise AuthenticationError(
                f"login as {user!r} refused: {refused.reply.code} {refused.reply.text}"
            ) from None

    def unsent(self) -> int:
        """Bytes written and not yet in the kernel (under TLS, the TLS layer's too)."""
        return self._writer.transport.get_write_buffer_size() + (
            self._socket.get_write_buffer_size() if self.encrypted else 0)

    @property
    def is_open(self) -> bool:
        """False once either side closed it (a server restart closes idle connections)."""
        return not self._writer.transport.is_closing() and not self._reader.at_eof()

    async def command(self, line: bytes, expect: Collection[int], step: str = "") -> Reply:
        """Send one line and read the answer; `step` names it in errors (default: the
        verb; a line holding a secret passes its own)."""
        if b"\r" in line or b"\n" in line:
            raise ValueError("an SMTP command is one line")
        self._write(line + b"\r\n")
        return await self._expect(
            expect, step or line.split(b" ", 1)[0].decode("ascii", "replace"))

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
        mail = b"MAIL FROM:<" + sender.encode("ascii") + b">"
        rcpt = b"RCPT TO:<" + recipient.encode("ascii") + b">"
        try:
            if self.pipelining:
                await self._envelope_pipelined(mail, rcpt)
            else:
                await self.command(mail, (250,))
                await self.command(rcpt, (250, 251))
                await self.command(b"DATA", (354,))
            fault_points.reached("notifications.mid_data")
        except ReplyError as refused:
            if refused.reply.code == 421:  # the server is closing the connection
                self.close()
            else:
                with contextlib.suppress(ReplyError, ConnectionLostError):
                    await self.command(b"RSET", (250,))
            raise
        def hand_over() -> None:
            fault_points.reached("notifications.after_last_byte_before_mark")
            handed_over()

        self._write(_dot_stuffed(data) + b".\r\n")
        try:
            await once_in_kernel(self._socket, self.unsent, hand_over, self._timeout)
        except TimeoutError as error:
            self.close()
            raise ConnectionLostError("writing failed: timed out") from error
        except ConnectionLostError:
            self.close()
            raise
        fault_points.reached("notifications.after_mark_before_reply")
        return await self._expect((250,), "end of data")

    async def _envelope_pipelined(self, mail: bytes, rcpt: bytes) -> None:
        """MAIL, RCPT and DATA in one write (RFC 2920: DATA last in the group), then all
        three replies, in order, whatever they say: each is the answer to its command, so
        none may be left unread. The first refusal is raised. Should a server accept DATA
        after refusing MAIL or RCPT (a conforming one answers 503 or 554), the data phase
        is closed at once, with no message, before the refusal is raised."""
        for line in (mail, rcpt):
            if b"\r" in line or b"\n" in line:
                raise ValueError("an SMTP command is one line")
        self._write(b"".join((mail, b"\r\n", rcpt, b"\r\nDATA\r\n")))
        refusal: ReplyError | None = None
        reply = Reply(0, "")
        for expect, step in (((250,), "MAIL"), ((250, 251), "RCPT"), ((354,), "DATA")):
            reply = await self._reply()
            if reply.code == 421:  # closing: the rest will not be answered
                raise ReplyError(reply, step)
            if refusal is None and reply.code not in expect:
                refusal = ReplyError(reply, step)
        if refusal is None:
            return
        if reply.code == 354:
            self._write(b".\r\n")
            await self._reply()
        raise refusal

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
                    match = REPLY_LINE.fullmatch(line.rstrip(b"\r\n"))
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
    crlf = data.count(b"\r\n")
    if data.count(b"\r") != crlf or data.count(b"\n") != crlf:
        data = _LINE_ENDINGS.sub(b"\r\n", data)  # rare: our writer writes CRLF already
    if data.startswith(b".") or b"\n." in data:
        data = _LEADING_PERIOD.sub(b"..", data)
    return data if data.endswith(b"\r\n") else data + b"\r\n"
