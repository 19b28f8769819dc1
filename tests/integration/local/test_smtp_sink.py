"""The one SMTP sink (services/local/smtp_sink) over real sockets: what it records and
counts, the refusals the notification tests and fault scenarios rely on, down and up on
the same port, and the benchmark's copy of it in a process of its own."""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest

from harness.sink_process import SinkProcess
from services.local.smtp_sink import SmtpSink, message_id_of

pytestmark = pytest.mark.integration


def mail(to: str, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "no-reply@charger-access.test"
    message["To"] = to
    message["Message-ID"] = message_id
    message["Subject"] = "hello"
    message.set_content("body")
    return message


def send(port: int, message: EmailMessage) -> None:
    with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
        client.send_message(message)


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    running = SmtpSink()
    running.start()
    yield running
    running.stop()


def test_message_id_is_read_from_the_head_whatever_the_case_of_its_name() -> None:
    assert message_id_of(b"From: a\r\nMessage-ID: <x@y>\r\n\r\nMessage-ID: body") == "<x@y>"
    assert message_id_of(b"message-id:<z>\r\n\r\n") == "<z>"
    assert message_id_of(b"Subject: s\r\n\r\n") == ""


async def test_records_each_message_with_its_envelope_and_counts_repeats(sink: SmtpSink) -> None:
    send(sink.port, mail("Ola@Example.test", "<1@t>"))
    send(sink.port, mail("kari@example.test", "<2@t>"))
    send(sink.port, mail("kari@example.test", "<2@t>"))

    messages = await sink.wait_for(3)
    assert [m["X-Envelope-To"] for m in messages] == [
        "Ola@Example.test", "kari@example.test", "kari@example.test"]
    assert [(d.message_id, d.recipient) for d in sink.deliveries()] == [
        ("<1@t>", "ola@example.test"), ("<2@t>", "kari@example.test"),
        ("<2@t>", "kari@example.test")]
    stats = sink.stats()
    assert (stats["total"], stats["unique"], stats["duplicates"]) == (3, 2, 1)
    assert len(sink.to("kari@example.test")) == 2


def test_refuses_at_rcpt_for_good_and_greylists_each_message_once(sink: SmtpSink) -> None:
    sink.refuse("550 5.1.1 no such user", stage="RCPT", to=lambda a: a.endswith("@reject.test"))
    grey = sink.refuse("451 4.7.1 later", to=lambda a: a.endswith("@grey.test"),
                       once_per_message=True)

    with pytest.raises(smtplib.SMTPRecipientsRefused):
        send(sink.port, mail("a@reject.test", "<r@t>"))
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send(sink.port, mail("b@grey.test", "<g@t>"))
    assert refused.value.smtp_code == 451
    send(sink.port, mail("b@grey.test", "<g@t>"))  # the retry is accepted

    assert [m["Message-ID"] for m in sink.messages] == ["<g@t>"]
    assert grey.refused_ids == {"<g@t>"}
    assert sink.refused == 2


def test_a_timed_refusal_runs_out_and_allow_lifts_every_refusal(sink: SmtpSink) -> None:
    sink.refuse("451 4.7.1 busy", seconds=0.3)
    with pytest.raises(smtplib.SMTPDataError):
        send(sink.port, mail("a@example.test", "<1@t>"))
    time.sleep(0.4)
    send(sink.port, mail("a@example.test", "<1@t>"))
    sink.refuse("554 no")
    sink.allow()
    send(sink.port, mail("a@example.test", "<2@t>"))
    assert sink.count() == 2
    assert sink.refused == 1


def test_goes_down_and_comes_back_on_the_same_port(sink: SmtpSink) -> None:
    sink.stop()
    assert not sink.up
    with pytest.raises(ConnectionRefusedError):
        send(sink.port, mail("a@example.test", "<1@t>"))
    sink.start()
    send(sink.port, mail("a@example.test", "<1@t>"))
    assert sink.count() == 1


def test_counting_only_keeps_no_message() -> None:
    sink = SmtpSink(keep=False)
    sink.start()
    try:
        send(sink.port, mail("a@example.test", "<1@t>"))
    finally:
        sink.stop()
    assert sink.stats()["total"] == 1
    assert sink.messages == []


def test_the_benchmarks_sink_counts_in_a_process_of_its_own() -> None:
    sink = SinkProcess()
    sink.start()
    try:
        send(sink.port, mail("a@example.test", "<1@t>"))
        send(sink.port, mail("a@example.test", "<1@t>"))
        stats = sink.stats()
    finally:
        sink.stop()
    assert (stats["total"], stats["unique"], stats["duplicates"]) == (2, 1, 1)
    assert sink.pid is not None
