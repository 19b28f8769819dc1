"""P5's raw baseline sends finished bytes, one message per recipient, and nothing else:
the same work as the service minus what P5 judges (no timing asserted here)."""

from __future__ import annotations

from collections.abc import Iterator
from email import message_from_bytes, policy

import pytest

from bench.p5_email_alone import sample_rendered
from bench.raw_smtp import MAIL_FROM, prebuilt, send_prebuilt
from services.local.smtp_sink import SmtpSink
from services.notifications.config import NotificationSettings


@pytest.fixture(scope="module")
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink(keep=True)
    server.start()
    yield server
    server.stop()


def test_the_sender_is_the_services_default() -> None:
    assert NotificationSettings().mail_from == MAIL_FROM


def test_prebuilt_messages_are_finished_bytes_each_to_its_own_recipient() -> None:
    messages = prebuilt(sample_rendered(), MAIL_FROM, 4)
    assert all(isinstance(m.data, bytes) for m in messages)
    assert len({m.recipient for m in messages}) == 4
    assert len({m.message_id for m in messages}) == 4
    for message in messages:
        parsed = message_from_bytes(message.data, policy=policy.default)
        assert parsed["Message-ID"] == message.message_id
        assert parsed["To"] == message.recipient
        assert parsed.get_content_type() == "multipart/alternative"
        assert message.sender == "no-reply@charger-access.local"


async def test_every_prebuilt_message_arrives_once_over_the_connections(sink: SmtpSink) -> None:
    messages = prebuilt(sample_rendered(), MAIL_FROM, 12)
    before = sink.stats()
    rate, cpu_ms = await send_prebuilt(sink.port, messages, connections=3)
    after = sink.stats()
    assert after["unique"] - before["unique"] == 12
    assert after["duplicates"] == before["duplicates"]
    assert {m["Message-ID"] for m in sink.messages} >= {m.message_id for m in messages}
    assert rate > 0
    assert cpu_ms > 0
