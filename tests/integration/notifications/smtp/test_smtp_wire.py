"""Our SMTP client (`smtp.wire`) over real sockets: against aiosmtpd, and against scripted
servers for what aiosmtpd won't do (garbage, silence, refusals, a slow final answer)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from services.common.timeouts import wait_for
from services.local.smtp_sink import SmtpSink
from services.notifications.mail.message import OutgoingEmail
from services.notifications.smtp.pool import PermanentSmtpError, SmtpPool, TransientSmtpError
from services.notifications.smtp.replies import ConnectionLostError, ReplyError
from services.notifications.smtp.wire import SmtpConnection
from tests.integration.notifications.smtp.turns import HandOverWatch

pytestmark = pytest.mark.integration

Script = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


@pytest.fixture
async def scripted() -> AsyncIterator[Callable[[Script], Awaitable[int]]]:
    """Start a server that runs `script` for each connection; returns its port."""
    servers: list[asyncio.Server] = []

    async def start(script: Script) -> int:
        server = await asyncio.start_server(script, "127.0.0.1", 0)
        servers.append(server)
        port: int = server.sockets[0].getsockname()[1]
        return port

    yield start
    for server in servers:
        server.close()
        await server.wait_closed()


async def lines_until(reader: asyncio.StreamReader, end: bytes) -> list[bytes]:
    seen = []
    while (line := await reader.readline()) and line != end:
        seen.append(line)
    return seen


async def test_lines_starting_with_a_dot_and_bare_newlines_arrive_intact(
    smtp_server: SmtpSink,
) -> None:
    port = smtp_server.port
    body = b"Subject: dots\r\n\r\n.leading dot\n..two\r\n.\r\nlast line without newline"
    connection = await SmtpConnection.open("127.0.0.1", port, 5.0)
    try:
        reply = await connection.send("a@example.no", "b@example.no", body)
    finally:
        await connection.quit()
    assert reply.code == 250
    [message] = await smtp_server.wait_for(1)
    received = message.get_payload()
    assert isinstance(received, str)
    assert received.splitlines() == [".leading dot", "..two", ".", "last line without newline"]


async def test_the_hand_over_comes_after_the_last_byte_and_before_the_answer(
    scripted: Callable[[Script], Awaitable[int]],
) -> None:
    got_the_dot = asyncio.Event()
    answer = asyncio.Event()

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        for expected in (b"EHLO", b"MAIL", b"RCPT"):
            assert (await reader.readline()).startswith(expected)
            writer.write(b"250-fine\r\n250 ok\r\n" if expected == b"EHLO" else b"250 ok\r\n")
        assert await reader.readline() == b"DATA\r\n"
        writer.write(b"354 go\r\n")
        await lines_until(reader, b".\r\n")
        got_the_dot.set()
        await answer.wait()
        writer.write(b"250 queued\r\n")
        await writer.drain()

    port = await scripted(server)
    connection = await SmtpConnection.open("127.0.0.1", port, 5.0)
    handed: list[bool] = []

    def handed_over() -> None:
        handed.append(answer.is_set())

    sending = asyncio.create_task(connection.send("a@x.no", "b@x.no", b"hello\r\n", handed_over))
    await wait_for(got_the_dot.wait(), 5)
    assert handed == [False]  # called already, and the server has not answered yet
    answer.set()
    assert (await sending).code == 250
    assert handed == [False]
    connection.close()


async def test_a_message_the_kernel_could_not_take_at_once_is_handed_over_as_its_last_byte_goes(
    scripted: Callable[[Script], Awaitable[int]],
) -> None:
    """A server that does not read leaves most of a big message in our transport; the
    rest leaves from the transport's write callback once it reads. No other task may run
    between that and the hand-over: a kill there would send the e-mail again (the loop's
    next turn was where `drain` woke the sender)."""
    read_now = asyncio.Event()
    received: list[int] = []

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        for expected in (b"EHLO", b"MAIL", b"RCPT", b"DATA"):
            assert (await reader.readline()).startswith(expected)
            writer.write(b"354 go\r\n" if expected == b"DATA" else b"250 ok\r\n")
        await read_now.wait()
        received.append(sum(map(len, await lines_until(reader, b".\r\n"))))
        writer.write(b"250 queued\r\n")
        await writer.drain()

    port = await scripted(server)
    connection = await SmtpConnection.open("127.0.0.1", port, 30.0)
    line = b"x" * 1022 + b"\r\n"
    message = line * (24 * 1024)  # 24 MiB: more than loopback's socket buffers hold
    watch = HandOverWatch(connection)
    watching = asyncio.create_task(watch.watch())
    sending = asyncio.create_task(connection.send("a@x.no", "b@x.no", message, watch.hand_over))
    await wait_for(watch.buffered.wait(), 10)  # the kernel could not take it all at once
    read_now.set()
    assert (await wait_for(sending, 30)).code == 250
    await watching
    connection.close()

    assert received == [len(message)]
    assert watch.unsent_when_handed == [0]
    assert watch.turns_between == 0, "the loop turned between the last byte and the hand-over"


def answering(greeting: bytes, replies: list[bytes], received: list[bytes] | None = None) -> Script:
    """A server that greets, then gives one reply per command (after DATA's 354, the
    next reply answers the message), recording the messages it received."""

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(greeting)
        in_data = False
        for reply in replies:
            if in_data:
                data = await lines_until(reader, b".\r\n")
                if received is not None:
                    received.append(b"".join(data))
                in_data = False
            elif not await reader.readline():
                return
            writer.write(reply)
            in_data = reply.startswith(b"354")
        await reader.read()

    return server


OK = b"250 ok\r\n"
BYE = b"221 bye\r\n"


@pytest.mark.parametrize(
    ("greeting", "replies", "kind", "server_down"),
    [
        (b"554 go away\r\n", [], TransientSmtpError, True),
        (b"220 hi\r\n", [b"this is not smtp\r\n"], TransientSmtpError, True),
        (b"220 hi\r\n", [OK, OK, b"550 no such user\r\n", OK, BYE], PermanentSmtpError, None),
        (b"220 hi\r\n", [OK, OK, OK, b"354 go\r\n", b"451 later\r\n", BYE], TransientSmtpError, False),
        (b"220 hi\r\n", [OK, OK, OK, b"354 go\r\n", b"554 spam\r\n", BYE], PermanentSmtpError, None),
        (b"220 hi\r\n", [OK, b"421 closing\r\n"], TransientSmtpError, True),
    ],
)
async def test_refusals_and_nonsense_are_sorted_transient_or_permanent(
    scripted: Callable[[Script], Awaitable[int]],
    greeting: bytes,
    replies: list[bytes],
    kind: type[Exception],
    server_down: bool | None,
) -> None:
    port = await scripted(answering(greeting, replies))
    pool = SmtpPool("127.0.0.1", port, size=1, timeout=5.0)
    message = OutgoingEmail("a@x.no", "b@x.no", "<id@x>", b"Subject: s\r\n\r\nbody\r\n")
    with pytest.raises(kind) as raised:
        await pool.send(message)
    if isinstance(raised.value, TransientSmtpError):
        assert raised.value.server_down is server_down
    await pool.close()


async def test_a_silent_server_times_out(scripted: Callable[[Script], Awaitable[int]]) -> None:
    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # never greets

    port = await scripted(server)
    with pytest.raises(ConnectionLostError):
        await SmtpConnection.open("127.0.0.1", port, 0.3)


async def test_a_connection_is_reused_after_a_refused_recipient(
    scripted: Callable[[Script], Awaitable[int]],
) -> None:
    received: list[bytes] = []
    replies = [OK, OK, b"550 no such user\r\n", OK, OK, OK, b"354 go\r\n", OK]
    port = await scripted(answering(b"220 hi\r\n", replies, received))
    connection = await SmtpConnection.open("127.0.0.1", port, 5.0)
    try:
        with pytest.raises(ReplyError) as refused:
            await connection.send("a@x.no", "gone@x.no", b"Subject: s\r\n\r\nx\r\n")
        assert refused.value.reply.code == 550  # and the envelope was reset (RSET)
        assert (await connection.send("a@x.no", "c@x.no", b"Subject: t\r\n\r\ny\r\n")).code == 250
    finally:
        connection.close()
    assert received == [b"Subject: t\r\n\r\ny\r\n"]


async def test_a_connection_the_server_closed_while_idle_is_not_reused(
    scripted: Callable[[Script], Awaitable[int]],
) -> None:
    received: list[bytes] = []

    async def then_close(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        for reply in (OK, OK, OK, b"354 go\r\n"):  # EHLO, MAIL, RCPT, DATA
            assert await reader.readline()
            writer.write(reply)
        received.append(b"".join(await lines_until(reader, b".\r\n")))
        writer.write(OK)
        await writer.drain()
        writer.close()  # the server restarts: its idle connections go

    port = await scripted(then_close)
    pool = SmtpPool("127.0.0.1", port, size=1, timeout=5.0)
    message = OutgoingEmail("a@x.no", "b@x.no", "<id@x>", b"Subject: s\r\n\r\nbody\r\n")
    await pool.send(message)
    await asyncio.sleep(0.2)
    await pool.send(message)  # not "server down" on the stale connection: a new one
    assert len(received) == 2
    await pool.close()


def pipelining(replies: list[bytes], received: list[bytes]) -> Script:
    """A server offering PIPELINING that reads the whole MAIL, RCPT, DATA group before it
    answers any of it (a client waiting for each answer would never get one), then gives
    `replies` for the group; after a 354 it takes the message and answers 250."""

    async def server(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        assert (await reader.readline()).startswith(b"EHLO")
        writer.write(b"250-hi\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
        answers = replies
        while (first := await reader.readline()) and not first.startswith(b"QUIT"):
            if first.startswith(b"RSET"):  # after a refusal
                writer.write(OK)
                continue
            group = [first, await reader.readline(), await reader.readline()]
            received.append(b"".join(group))
            writer.write(b"".join(answers))
            if answers[-1].startswith(b"354"):
                received.append(b"".join(await lines_until(reader, b".\r\n")))
                writer.write(OK)
            answers = [OK, OK, b"354 go\r\n"]

    return server


async def test_mail_rcpt_and_data_go_in_one_group_when_the_server_offers_pipelining(
    scripted: Callable[[Script], Awaitable[int]],
) -> None:
    received: list[bytes] = []
    port = await scripted(pipelining([OK, OK, b"354 go\r\n"], received))
    connection = await SmtpConnection.open("127.0.0.1", port, 2.0)
    try:
        assert connection.pipelining
        reply = await connection.send("a@x.no", "b@x.no", b"Subject: s\r\n\r\nbody\r\n")
    finally:
        connection.close()
    assert reply.code == 250
    assert received == [b"MAIL FROM:<a@x.no>\r\nRCPT TO:<b@x.no>\r\nDATA\r\n",
                        b"Subject: s\r\n\r\nbody\r\n"]


@pytest.mark.parametrize(
    ("replies", "code"),
    [
        ([OK, b"550 no such user\r\n", b"554 no valid recipients\r\n"], 550),
        ([b"553 bad sender\r\n", b"503 need MAIL\r\n", b"503 need RCPT\r\n"], 553),
        # not conforming: DATA accepted after a refused recipient; no message may follow
        ([OK, b"550 no such user\r\n", b"354 go\r\n"], 550),
    ],
)
async def test_a_pipelined_refusal_reads_every_answer_and_the_connection_is_reused(
    scripted: Callable[[Script], Awaitable[int]], replies: list[bytes], code: int
) -> None:
    received: list[bytes] = []
    port = await scripted(pipelining(replies, received))
    connection = await SmtpConnection.open("127.0.0.1", port, 2.0)
    try:
        with pytest.raises(ReplyError) as refused:
            await connection.send("a@x.no", "gone@x.no", b"Subject: s\r\n\r\nx\r\n")
        assert refused.value.reply.code == code
        assert (await connection.send("a@x.no", "c@x.no", b"Subject: t\r\n\r\ny\r\n")).code == 250
    finally:
        connection.close()
    messages = [r for r in received if not r.startswith(b"MAIL")]
    assert messages[-1] == b"Subject: t\r\n\r\ny\r\n"
    assert all(b"Subject: s" not in m for m in messages)


async def test_the_sink_offers_pipelining_and_takes_pipelined_mail(smtp_server: SmtpSink) -> None:
    connection = await SmtpConnection.open("127.0.0.1", smtp_server.port, 5.0)
    try:
        assert connection.pipelining
        for n in range(3):
            body = f"Subject: n{n}\r\n\r\nbody {n}\r\n".encode()
            assert (await connection.send("a@example.no", f"b{n}@example.no", body)).code == 250
    finally:
        await connection.quit()
    messages = await smtp_server.wait_for(3)
    assert sorted(m["Subject"] for m in messages) == ["n0", "n1", "n2"]
