"""The notification service in-process against the real broker, PostgreSQL and aiosmtpd.

One service per module (a Tansu consumer-group join costs seconds); every test uses
fresh event ids and addresses, and a sentinel event published after what it checks,
on the same key (so the same partition, in order), to know the service got that far.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from typing import Any
from urllib.parse import parse_qs, urlparse

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from pydantic import SecretStr

from charger_access_client.envelope import EventEnvelope
from charger_access_client.topics import Topics
from services.common.config import Settings
from services.common.tokens import invitation_token
from services.local.smtp_sink import Refusal, SmtpSink
from services.local.tansu import free_port
from services.notifications.config import NotificationSettings
from services.notifications.mail.message import message_id
from services.notifications.privacy import RecipientKeys
from services.notifications.service import NotificationService
from tests.unit.notifications.factories import envelope, invited, person

pytestmark = pytest.mark.integration

SECRET = b"integration-token-secret"
SCRAPER = "scraper-token"
BASE_URL = "https://app.test"
KEY = "one-partition"  # every record on one key: one partition, so order is kept


@dataclass
class Mail:
    """The SMTP sink, refusing recipients at `reject.example` for good (550), like a real
    server would, and greylisting `greylist.example`: the first DATA of each message gets 451."""

    box: SmtpSink
    greylist: Refusal

    @property
    def port(self) -> int:
        return self.box.port

    def to(self, address: str) -> list[Message]:
        return self.box.to(address)


@pytest.fixture(scope="module")
def mail() -> Iterator[Mail]:
    box = SmtpSink()
    box.refuse("550 5.1.1 no such user", stage="RCPT", to=lambda a: a.endswith("@reject.example"))
    greylist = box.refuse("451 4.7.1 greylisted, try again later",
                          to=lambda a: a.endswith("@greylist.example"), once_per_message=True)
    box.start()
    yield Mail(box, greylist)
    box.stop()


@pytest.fixture(scope="module")
def settings(database_url: str, kafka_bootstrap: str, mail: Mail) -> NotificationSettings:
    tag = uuid.uuid4().hex[:8]
    common = Settings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        smtp_url=f"smtp://127.0.0.1:{mail.port}",
        public_base_url=BASE_URL,
        topics=Topics(f"notif-{tag}."),
        token_secret=SECRET,
        consumer_group_prefix=f"notif-{tag}",
        api_tokens=frozenset({SecretStr(SCRAPER)}),
    )
    return NotificationSettings(
        common=common,
        retry_initial_seconds=0.2,
        retry_max_seconds=1.0,
        http_port=free_port(),
    )


async def publish(
    producer: AIOKafkaProducer, topics: Topics, *items: EventEnvelope | bytes
) -> None:
    for item in items:
        value = item if isinstance(item, bytes) else item.model_dump_json().encode()
        await producer.send_and_wait(topics.events, value, key=KEY.encode())


async def publish_fast(producer: AIOKafkaProducer, topics: Topics, items: list[EventEnvelope]) -> None:
    """Many records in flight at once (one partition: still in order)."""
    sends = [
        await producer.send(topics.events, e.model_dump_json().encode(), key=KEY.encode())
        for e in items
    ]
    await asyncio.gather(*sends)


async def claimed(settings: NotificationSettings, items: list[EventEnvelope]) -> int:
    conn = await asyncpg.connect(settings.common.database_url)
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM notifications.sent_log WHERE event_id = ANY($1::uuid[])",
            [e.id for e in items],
        )
    finally:
        await conn.close()
    return count


async def sentinel(producer: AIOKafkaProducer, topics: Topics, mail: Mail) -> None:
    """Publish one more invitation and wait for it: everything before it is handled."""
    address = f"sentinel-{uuid.uuid4().hex[:8]}@example.com"
    await publish(producer, topics, envelope(invited(email=address)))
    await wait_until(lambda: len(mail.to(address)) == 1, f"sentinel to {address}")
    await asyncio.sleep(0.3)  # sends of the same batch run concurrently; let them land


async def row_status(settings: NotificationSettings, event_id: uuid.UUID) -> str | None:
    conn = await asyncpg.connect(settings.common.database_url)
    try:
        status: str | None = await conn.fetchval(
            "SELECT status FROM notifications.sent_log WHERE event_id = $1", event_id)
        return status
    finally:
        await conn.close()


async def wait_until(check: Any, what: str, seconds: float = 30.0) -> None:
    """Poll `check` (plain or async) until it holds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await _holds(check):
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def _holds(check: Any) -> bool:
    result = check()
    return bool(await result) if inspect.isawaitable(result) else bool(result)


def body(message: Message, subtype: str) -> str:
    for part in message.walk():
        if part.get_content_type() == f"text/{subtype}":
            payload = part.get_payload(decode=True)
            assert isinstance(payload, bytes)
            return payload.decode(part.get_content_charset() or "utf-8")
    raise AssertionError(f"no text/{subtype} part")


async def test_an_invitation_arrives_with_the_right_recipient_subject_and_link(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    address = f"ola-{uuid.uuid4().hex[:8]}@example.no"
    event = invited(email=address, locale="nb")
    sent = envelope(event)
    await publish(producer, settings.common.topics, sent)

    await wait_until(lambda: len(mail.to(address)) == 1, "the invitation")
    [message] = mail.to(address)
    assert message["To"] == address
    assert message["Subject"] == "Kari Nordmann har delt en lader med deg"
    assert message["Message-ID"] == message_id(sent.id, RecipientKeys(SECRET)(address))
    assert message["Content-Language"] == "nb"
    text, html = body(message, "plain"), body(message, "html")
    assert "Garasjen" in text
    assert "Garasjen" in html
    link = next(word for word in text.split() if word.startswith(BASE_URL))
    url = urlparse(link)
    assert url.path == f"/invitations/{event.invitation_id}/accept"
    expected = invitation_token(SECRET, event.invitation_id, event.token_salt)
    assert parse_qs(url.query)["token"] == [expected]
    assert f'href="{link}"' in html


async def test_the_same_event_three_times_sends_one_email(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    address = f"dup-{uuid.uuid4().hex[:8]}@example.fr"
    same = envelope(invited(email=address, locale="fr"))
    await publish(producer, settings.common.topics, same, same, same)

    async def arrived() -> bool:
        return len(mail.to(address)) >= 1

    await wait_until(arrived, f"the e-mail to {address}")
    await sentinel(producer, settings.common.topics, mail)
    assert len(mail.to(address)) == 1


async def test_garbage_and_unknown_records_are_skipped_and_the_consumer_goes_on(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    unknown = envelope(invited(), type_name="SomethingFromTheFuture")
    # A NUL in a name: storable in the sent-log (as a JSON escape), refused as a header.
    nul = envelope(invited(inviter=person(name="Eve\x00Bcc: evil@attacker.example")))
    await publish(producer, settings.common.topics, b"\xff not json", b"{}", unknown, nul)
    await sentinel(producer, settings.common.topics, mail)  # the consumer went on

    async def failed() -> bool:
        return await row_status(settings, nul.id) == "failed"

    await wait_until(failed, "the refused e-mail to be recorded failed")


async def test_a_permanently_refused_email_is_recorded_failed_and_dead_lettered(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    address = f"gone-{uuid.uuid4().hex[:8]}@reject.example"
    refused = envelope(invited(email=address))
    await publish(producer, settings.common.topics, refused)
    await sentinel(producer, settings.common.topics, mail)

    conn = await asyncpg.connect(settings.common.database_url)
    try:
        row = await conn.fetchrow(
            "SELECT status, error FROM notifications.sent_log WHERE event_id = $1", refused.id
        )
    finally:
        await conn.close()
    assert row is not None
    assert row["status"] == "failed"
    assert "550" in row["error"]
    records = await read_all(
        settings.common.kafka_bootstrap_servers, settings.common.topics.notifications_dlq
    )
    mine = [r for r in records if r["event_id"] == str(refused.id)]
    assert [(r["recipient"], r["code"]) for r in mine] == [(address, 550)]


async def test_smtp_down_for_30_s_under_load_every_email_arrives_exactly_once(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    """Hundreds of events while the server is away: the consumer keeps claiming and
    committing (later events flow), and once the server is back every e-mail arrives,
    each once, with the Message-ID of its (event, recipient)."""
    run = uuid.uuid4().hex[:8]
    topics = settings.common.topics
    before = [envelope(invited(email=f"before-{run}-{i}@example.com")) for i in range(50)]
    await publish_fast(producer, topics, before)
    await wait_until(lambda: all(mail.to(e.data["email"]) for e in before), "the first 50")

    mail.box.stop()
    down_at = time.monotonic()
    during = [envelope(invited(email=f"during-{run}-{i}@example.com", locale=("nb", "fr", "en")[i % 3])) for i in range(300)]
    try:
        for chunk in range(0, 300, 30):  # a steady load over ~20 s
            await publish_fast(producer, topics, during[chunk : chunk + 30])
            await asyncio.sleep(2)
        # Later events keep flowing: all claimed and their offsets committed while down.
        await wait_for_commit(settings)
        assert await claimed(settings, during) == 300
        assert not any(mail.to(e.data["email"]) for e in during)
        await asyncio.sleep(max(0.0, 30 - (time.monotonic() - down_at)))
    finally:
        mail.box.start()  # again, on the same port

    await wait_until(lambda: all(mail.to(e.data["email"]) for e in during), "the queued 300", 60)
    await sentinel(producer, topics, mail)
    mine = {e.data["email"]: e.id for e in before + during}
    received = Counter(
        (m["Message-ID"], m["X-Envelope-To"]) for m in mail.box.messages if m["X-Envelope-To"] in mine
    )
    keys = RecipientKeys(SECRET)
    expected = {(message_id(event_id, keys(a)), a) for a, event_id in mine.items()}
    assert set(received) == expected
    assert set(received.values()) == {1}


async def test_a_server_answering_451_then_250_gets_the_email_once(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    addresses = [f"grey-{uuid.uuid4().hex[:8]}@greylist.example" for _ in range(5)]
    await publish(producer, settings.common.topics, *(envelope(invited(email=a)) for a in addresses))
    await wait_until(lambda: all(mail.to(a) for a in addresses), "the greylisted e-mails")
    await sentinel(producer, settings.common.topics, mail)
    assert [len(mail.to(a)) for a in addresses] == [1] * 5
    assert {m["Message-ID"] for a in addresses for m in mail.to(a)} <= mail.greylist.refused_ids


async def test_many_events_redelivered_three_times_send_one_email_each(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    run = uuid.uuid4().hex[:8]
    events = [envelope(invited(email=f"thrice-{run}-{i}@example.com")) for i in range(40)]
    for _ in range(3):
        await publish_fast(producer, settings.common.topics, events)
        await asyncio.sleep(0.5)
    await sentinel(producer, settings.common.topics, mail)
    assert [len(mail.to(e.data["email"])) for e in events] == [1] * 40


async def test_metrics_count_sent_failed_retried_and_dead_letters(
    service: NotificationService, settings: NotificationSettings
) -> None:
    assert service.metrics is not None
    values: dict[str, float] = {}
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{service.metrics.port}",
                                 headers={"Authorization": f"Bearer {SCRAPER}"}) as http:
        health = await http.get("/healthz")
        missing = await http.get("/nothing")
        # Only with one of API_TOKENS (health needs none).
        for refused in (await http.get("/metrics", headers={"Authorization": "Bearer x"}),
                        await httpx.AsyncClient().get(
                            f"http://127.0.0.1:{service.metrics.port}/metrics")):
            assert (refused.status_code, refused.text) == (401, "unauthorized\n")
            assert refused.headers["www-authenticate"] == 'Bearer realm="metrics"'

        async def settled() -> bool:
            # "sent" is recorded just after the e-mail leaves (its hand-over mark already
            # keeps it from going twice): the queue empties a moment after the last one.
            text = (await http.get("/metrics")).text
            values.update(
                (line.split()[0], float(line.split()[1]))
                for line in text.splitlines()
                if line and not line.startswith("#")
            )
            return values["notifications_queue_pending"] == 0

        await wait_until(settled, "the queue to empty")
    assert health.status_code == 200
    assert missing.status_code == 404
    assert values["notifications_emails_sent_total"] >= 350
    assert values["notifications_emails_failed_total"] >= 1  # the 550
    assert values["notifications_dlq_records_total"] >= 1
    assert values["notifications_emails_retried_total"] >= 5  # the greylisted ones at least
    assert values["notifications_duplicates_total"] >= 80
    assert values["notifications_smtp_up"] == 1
    assert values["notifications_queue_pending"] == 0
    assert values["notifications_partitions_assigned"] >= 1  # alone in its group, consuming
    assert values["notifications_hand_over_marks_unconfirmed_total"] == 0


async def test_a_restarted_service_sends_nothing_again(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    address = f"once-{uuid.uuid4().hex[:8]}@example.com"
    await publish(producer, settings.common.topics, envelope(invited(email=address)))
    await wait_until(lambda: len(mail.to(address)) == 1, "the first e-mail")
    before = len(mail.box.messages)
    await wait_for_commit(settings)  # offsets are committed once the batch is handled

    await service.stop()
    await service.start()
    await sentinel(producer, settings.common.topics, mail)
    assert len(mail.box.messages) == before + 1  # only the sentinel


async def test_a_new_consumer_group_rereads_everything_and_the_sent_log_stops_resends(
    service: NotificationService,
    producer: AIOKafkaProducer,
    settings: NotificationSettings,
    mail: Mail,
) -> None:
    before = len(mail.box.messages)
    fresh = NotificationSettings(
        common=Settings(
            **{**settings.common.__dict__, "consumer_group_prefix": f"fresh-{uuid.uuid4().hex[:8]}"}
        ),
    )
    await service.stop()
    second = NotificationService(fresh)
    await second.start()
    try:
        await sentinel(producer, settings.common.topics, mail)
    finally:
        await second.stop()
        await service.start()
    assert len(mail.box.messages) == before + 1


async def wait_for_commit(settings: NotificationSettings, seconds: float = 15.0) -> None:
    """Wait until the service's group has committed every partition up to its end."""
    topic = settings.common.topics.events
    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.common.kafka_bootstrap_servers,
        group_id=settings.group_id,
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or ()]
        assert partitions
        ends = await consumer.end_offsets(partitions)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            committed = {tp: await consumer.committed(tp) or 0 for tp in partitions}
            if all(committed[tp] >= ends[tp] for tp in partitions):
                return
            if loop.time() > deadline:
                raise TimeoutError(f"committed {committed}, end {ends}")
            await asyncio.sleep(0.2)
    finally:
        await consumer.stop()


async def read_all(bootstrap: str, topic: str) -> list[dict[str, Any]]:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=5000)
        return [json.loads(r.value) for records in batches.values() for r in records]
    finally:
        await consumer.stop()
