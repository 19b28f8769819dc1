"""TLS and login of our SMTP client against aiosmtpd: STARTTLS whenever offered (or
insisted on), TLS from the first byte for `smtps://`, AUTH PLAIN or LOGIN, and what a
refusal becomes (transient, server-wide, with a reason for `/metrics`)."""

from __future__ import annotations

import asyncio
import base64
import logging
import ssl
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import pytest

from services.local.smtp_sink import SmtpSink
from services.notifications.mail.message import OutgoingEmail
from services.notifications.smtp.pool import SmtpPool, TransientSmtpError
from services.notifications.smtp.security import SmtpSecurity
from services.notifications.smtp.wire import SmtpConnection
from tests.certificates import ServerCertificate, make_server_certificate
from tests.integration.notifications.smtp.turns import HandOverWatch
from tests.secure_smtp import Logins, secure_sink

pytestmark = [pytest.mark.integration,
              pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")]

PASSWORD = "p@ss word:/ü"  # URL-escaped in SMTP_URL below


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> ServerCertificate:
    return make_server_certificate(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture
def running() -> Iterator[list[SmtpSink]]:
    sinks: list[SmtpSink] = []
    yield sinks
    for sink in sinks:
        sink.stop()


def started(sinks: list[SmtpSink], sink: SmtpSink) -> SmtpSink:
    sink.start()
    sinks.append(sink)
    return sink


def security(certificate: ServerCertificate, scheme: str = "smtp", starttls: str = "auto",
             user: str = "mailer") -> SmtpSecurity:
    url = f"{scheme}://{user}:p%40ss%20word%3A%2F%C3%BC@127.0.0.1:1"
    return SmtpSecurity.from_settings(url, starttls, str(certificate.ca_file))


def email(to: str = "b@example.no") -> OutgoingEmail:
    return OutgoingEmail("a@example.no", to, "<m@example.no>", b"Subject: secured\r\n\r\nhello\r\n")


async def send_once(sink: SmtpSink, secured: SmtpSecurity) -> None:
    pool = SmtpPool("127.0.0.1", sink.port, size=1, timeout=5.0, security=secured)
    try:
        await pool.send(email())
    finally:
        await pool.close()


@pytest.mark.parametrize(("exclude", "mechanism"), [((), "PLAIN"), (("PLAIN",), "LOGIN")])
async def test_starttls_then_login_from_the_url_then_the_mail_goes(
    certificate: ServerCertificate, running: list[SmtpSink], exclude: tuple[str, ...],
    mechanism: str,
) -> None:
    logins = Logins({"mailer": PASSWORD})
    sink = started(running, secure_sink(certificate, logins, exclude=exclude))
    await send_once(sink, security(certificate))
    assert len(await sink.wait_for(1)) == 1
    assert logins.attempts == [(mechanism, "mailer", True)]


async def test_smtps_speaks_tls_from_the_first_byte(
    certificate: ServerCertificate, running: list[SmtpSink],
) -> None:
    logins = Logins({"mailer": PASSWORD})
    sink = started(running, secure_sink(certificate, logins, implicit=True))
    connection = await SmtpConnection.open("127.0.0.1", sink.port, 5.0,
                                           security=security(certificate, "smtps"))
    try:
        assert connection.encrypted
        await connection.send("a@example.no", "b@example.no", b"Subject: s\r\n\r\nx\r\n")
    finally:
        await connection.quit()
    assert len(await sink.wait_for(1)) == 1


async def test_starttls_is_used_whenever_offered_even_without_a_login(
    certificate: ServerCertificate, running: list[SmtpSink],
) -> None:
    sink = started(running, secure_sink(certificate))
    secured = SmtpSecurity(ca_file=str(certificate.ca_file))
    connection = await SmtpConnection.open("127.0.0.1", sink.port, 5.0, security=secured)
    try:
        assert connection.encrypted
    finally:
        await connection.quit()


async def test_starttls_required_refuses_a_server_without_it(
    certificate: ServerCertificate, running: list[SmtpSink],
) -> None:
    sink = started(running, secure_sink(None))
    with pytest.raises(TransientSmtpError) as refused:
        await send_once(sink, SmtpSecurity(starttls="required"))
    assert (refused.value.reason, refused.value.server_down) == ("tls_unavailable", True)
    assert "SMTP_STARTTLS=required" in str(refused.value)
    assert sink.count() == 0


async def test_credentials_are_never_sent_to_a_server_without_tls(
    certificate: ServerCertificate, running: list[SmtpSink],
) -> None:
    logins = Logins({"mailer": PASSWORD})
    sink = started(running, secure_sink(None, logins))  # offers AUTH in clear
    with pytest.raises(TransientSmtpError) as refused:
        await send_once(sink, security(certificate))
    assert refused.value.reason == "tls_unavailable"
    assert logins.attempts == []


async def test_a_refused_login_is_transient_server_wide_and_names_no_password(
    certificate: ServerCertificate, running: list[SmtpSink], caplog: pytest.LogCaptureFixture,
) -> None:
    logins = Logins({"mailer": "another password"})
    sink = started(running, secure_sink(certificate, logins))
    with caplog.at_level(logging.DEBUG), pytest.raises(TransientSmtpError) as refused:
        await send_once(sink, security(certificate))
    assert (refused.value.reason, refused.value.server_down) == ("auth_refused", True)
    assert "535" in str(refused.value)
    assert PASSWORD not in str(refused.value) + caplog.text
    assert sink.count() == 0


async def test_a_certificate_from_an_unknown_ca_is_refused(
    certificate: ServerCertificate, running: list[SmtpSink], tmp_path: Path,
) -> None:
    sink = started(running, secure_sink(certificate))
    stranger = make_server_certificate(tmp_path)  # another CA
    with pytest.raises(TransientSmtpError) as refused:
        await send_once(sink, SmtpSecurity(ca_file=str(stranger.ca_file)))
    assert refused.value.reason == "tls_failed"
    assert sink.count() == 0


def test_smtp_url_credentials_are_url_decoded_and_kept_out_of_repr() -> None:
    secured = SmtpSecurity.from_settings("smtps://u%40x:p%3Aw@mail.example:465")
    assert (secured.implicit_tls, secured.credentials) == (True, ("u@x", "p:w"))
    assert "p:w" not in repr(secured)


async def test_over_tls_the_hand_over_waits_until_every_encrypted_byte_is_in_the_kernel(
    certificate: ServerCertificate, running: list[SmtpSink],
) -> None:
    sink = started(running, secure_sink(certificate))
    relay = await asyncio.start_server(stalling_relay(sink.port), "127.0.0.1", 0)
    port = relay.sockets[0].getsockname()[1]
    connection = await SmtpConnection.open(
        "127.0.0.1", port, 10.0, security=SmtpSecurity(ca_file=str(certificate.ca_file)))
    watch = HandOverWatch(connection)
    big = b"Subject: big\r\n\r\n" + (b"x" * 998 + b"\r\n") * 6_000  # 6 MB: more than the kernel takes
    try:
        assert connection.encrypted
        watching = asyncio.create_task(watch.watch())
        reply = await connection.send("a@example.no", "b@example.no", big, watch.hand_over)
        await watching
    finally:
        await connection.quit()
        relay.close()
    assert reply.code == 250
    # Neither bytes in the TLS layer nor encrypted bytes in the socket's transport.
    assert watch.unsent_when_handed == [0]
    assert watch.buffered.is_set()  # the kernel could not take it all at once
    assert watch.turns_between == 0, "the loop turned between the last byte and the hand-over"
    assert len(await sink.wait_for(1)) == 1


def stalling_relay(port: int) -> Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                          Awaitable[None]]:
    """A TCP relay to `port` that stops reading from the client for a moment once 1 MB has
    passed, as a slow network would: the client's kernel buffer fills, and its encrypted
    bytes queue in user space."""

    async def relay(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", port)

        async def upstream() -> None:
            passed, stalled = 0, False
            while chunk := await reader.read(65536):
                up_writer.write(chunk)
                await up_writer.drain()
                passed += len(chunk)
                if passed > 1_000_000 and not stalled:
                    stalled = True
                    await asyncio.sleep(0.3)
            up_writer.close()

        async def downstream() -> None:
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
            writer.close()

        await asyncio.gather(upstream(), downstream(), return_exceptions=True)

    return relay


async def scripted_server(script: Callable[[asyncio.StreamReader, asyncio.StreamWriter],
                                           Awaitable[None]],
                          context: ssl.SSLContext | None = None) -> asyncio.Server:
    return await asyncio.start_server(script, "127.0.0.1", 0, ssl=context)


async def test_a_server_refusing_the_starttls_it_offered_holds_the_mail(
    certificate: ServerCertificate,
) -> None:
    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        await reader.readline()
        writer.write(b"250-hi\r\n250 STARTTLS\r\n")
        await reader.readline()
        writer.write(b"454 4.7.0 TLS not available due to temporary reason\r\n")
        await reader.read()
        writer.close()

    server = await scripted_server(script)
    port = server.sockets[0].getsockname()[1]
    try:
        with pytest.raises(TransientSmtpError) as refused:
            await send_once_to(port, SmtpSecurity(ca_file=str(certificate.ca_file)))
    finally:
        server.close()
    assert (refused.value.reason, refused.value.server_down) == ("tls_unavailable", True)
    assert "454" in str(refused.value)


async def test_the_old_auth_equals_spelling_is_understood(
    certificate: ServerCertificate,
) -> None:
    said: list[bytes] = []

    async def script(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writer.write(b"220 hi\r\n")
        for answer in (b"250-hi\r\n250 AUTH=LOGIN\r\n", b"334 VXNlcm5hbWU6\r\n",
                       b"334 UGFzc3dvcmQ6\r\n", b"235 ok\r\n", b"221 bye\r\n"):
            said.append(await reader.readline())
            writer.write(answer)
        writer.close()

    server = await scripted_server(script, certificate.server_context())
    port = server.sockets[0].getsockname()[1]
    try:
        connection = await SmtpConnection.open(
            "127.0.0.1", port, 5.0, security=security(certificate, "smtps"))
        await connection.quit()
    finally:
        server.close()
    assert said[1] == b"AUTH LOGIN\r\n"
    assert base64.b64decode(said[2]) == b"mailer"
    assert base64.b64decode(said[3]) == PASSWORD.encode()


async def send_once_to(port: int, secured: SmtpSecurity) -> None:
    pool = SmtpPool("127.0.0.1", port, size=1, timeout=5.0, security=secured)
    try:
        await pool.send(email())
    finally:
        await pool.close()
