"""A `ShareEnding` on `access.events` becomes one `share_ending` e-mail to the holder,
through the real notification service, broker, PostgreSQL and an SMTP sink; the same
record delivered twice still makes one e-mail."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.header import decode_header, make_header
from email.message import Message

import pytest
from aiokafka import AIOKafkaProducer

from charger_access_client.access_events import ChargerRef, Person, ShareEnding
from charger_access_client.envelope import EventEnvelope
from charger_access_client.topics import Topics
from services.common.config import Settings
from services.local.smtp_sink import SmtpSink
from services.local.tansu import free_port
from services.notifications.config import NotificationSettings
from services.notifications.mail.message import message_id
from services.notifications.privacy import RecipientKeys
from services.notifications.service import NotificationService

pytestmark = pytest.mark.integration

SECRET = b"share-ending-token-secret"
KEY = b"one-partition"  # one key: one partition, so the records are read in order


@pytest.fixture(scope="module")
def mail() -> Iterator[SmtpSink]:
    box = SmtpSink()
    box.start()
    yield box
    box.stop()


@pytest.fixture(scope="module")
def settings(database_url: str, kafka_bootstrap: str, mail: SmtpSink) -> NotificationSettings:
    tag = uuid.uuid4().hex[:8]
    return NotificationSettings(
        common=Settings(
            database_url=database_url,
            kafka_bootstrap_servers=kafka_bootstrap,
            smtp_url=f"smtp://127.0.0.1:{mail.port}",
            public_base_url="https://app.test",
            topics=Topics(f"ending-{tag}."),
            token_secret=SECRET,
            consumer_group_prefix=f"ending-{tag}",
        ),
        retry_initial_seconds=0.2,
        retry_max_seconds=1.0,
        http_port=free_port(),
    )


def share_ending(address: str) -> EventEnvelope:
    holder = Person(user_id=uuid.uuid4(), email=address, name="Élodie Martin", locale="fr")
    ends = datetime(2026, 7, 4, 18, 0, tzinfo=UTC)  # 20:00 in Oslo (summer time)
    event = ShareEnding(
        charger_id=uuid.uuid4(), user_id=holder.user_id, level="charge", valid_until=ends,
        at=ends - timedelta(hours=24), user=holder,
        charger=ChargerRef(charger_id=uuid.uuid4(), name="Hytta på Geilo", serial_number="WB-7"),
        time_zone="Europe/Oslo",
    )
    return EventEnvelope(id=uuid.uuid4(), type="ShareEnding", subject=str(event.charger_id),
                         sequence=1, time=datetime.now(UTC), data=event.model_dump(mode="json"))


def text_part(message: Message) -> str:
    for part in message.walk():
        if part.get_content_type() == "text/plain":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError("no text/plain part")


async def test_a_share_ending_event_mails_its_holder_once(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: SmtpSink,
) -> None:
    address = f"elodie-{uuid.uuid4().hex[:8]}@example.fr"
    record = share_ending(address)
    for _ in range(2):  # redelivered: still one e-mail
        await producer.send_and_wait(settings.common.topics.events,
                                     record.model_dump_json().encode(), key=KEY)
    later = f"later-{uuid.uuid4().hex[:8]}@example.fr"  # after both, on the same partition
    await producer.send_and_wait(settings.common.topics.events,
                                 share_ending(later).model_dump_json().encode(), key=KEY)

    loop = asyncio.get_running_loop()
    deadline = loop.time() + 30
    while not mail.to(later):
        assert loop.time() < deadline, "the share_ending e-mails did not arrive"
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.3)  # a batch's sends run concurrently; let them land

    [message] = mail.to(address)
    assert message["Message-ID"] == message_id(record.id, RecipientKeys(SECRET)(address))
    assert message["Content-Language"] == "fr"
    subject = str(make_header(decode_header(message["Subject"])))
    assert subject == "Votre accès à la borne Hytta på Geilo prend bientôt fin"
    assert ("Votre accès à la borne de recharge Hytta på Geilo prend fin le samedi 4 juillet "
            "2026 à 20:00 (Europe/Oslo).") in text_part(message)
