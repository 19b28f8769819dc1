"""Forgetting a person in the notification service, against the real broker, PostgreSQL
and aiosmtpd: after `UserForgotten`, a scan of every text/json/bytea column of every
table in schema `notifications` finds neither their address nor their name; their
queued e-mails are never sent; redelivered events are still deduplicated.

The sent-log migration (plaintext recipients of an older version) runs on a database
of its own.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage, Message
from typing import Any

import asyncpg
import pytest
from aiokafka import AIOKafkaProducer

from charger_access_client.access_events import (
    Person,
    UserAccessChanged,
    UserAccessRemoved,
    UserForgotten,
    UserRegistered,
)
from charger_access_client.envelope import EventEnvelope
from charger_access_client.topics import Topics
from services.common.config import Settings
from services.local.smtp_sink import SmtpSink
from services.notifications.config import NotificationSettings
from services.notifications.privacy import RecipientKeys, is_key
from services.notifications.sent_log.queue import SentLog
from services.notifications.service import NotificationService
from tests.unit.notifications.factories import charger, envelope, invited, person

pytestmark = pytest.mark.integration

SECRET = b"integration-forgetting-secret"
KEY = "one-partition"  # one partition: records are handled in the order published


@dataclass
class DeferringMailBox:
    """The SMTP sink answering 451 (try again later) at RCPT for the addresses in
    `deferring`: their e-mails stay queued, pending, for as long as the test wants."""

    sink: SmtpSink
    deferring: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.sink.refuse("451 4.3.0 try again later", stage="RCPT",
                         to=lambda address: address.lower() in self.deferring)

    @property
    def messages(self) -> list[Message]:
        return self.sink.messages

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if m["X-Envelope-To"].lower() == address.lower()]


@pytest.fixture(scope="module")
def mailbox() -> Iterator[tuple[DeferringMailBox, int]]:
    box = DeferringMailBox(SmtpSink())
    box.sink.start()
    yield box, box.sink.port
    box.sink.stop()


@pytest.fixture(scope="module")
def settings(
    database_url: str, kafka_bootstrap: str, mailbox: tuple[DeferringMailBox, int]
) -> NotificationSettings:
    tag = uuid.uuid4().hex[:8]
    return NotificationSettings(
        common=Settings(
            database_url=database_url,
            kafka_bootstrap_servers=kafka_bootstrap,
            smtp_url=f"smtp://127.0.0.1:{mailbox[1]}",
            public_base_url="https://app.test",
            topics=Topics(f"forget-{tag}."),
            token_secret=SECRET,
            consumer_group_prefix=f"forget-{tag}",
        ),
        retry_initial_seconds=0.1,
        retry_max_seconds=0.5,
        http_port=0,
    )


@pytest.fixture(scope="module")
async def producer(settings: NotificationSettings) -> AsyncIterator[AIOKafkaProducer]:
    service = NotificationService(settings)
    await service.start()
    client = AIOKafkaProducer(bootstrap_servers=settings.common.kafka_bootstrap_servers, acks="all")
    await client.start()
    yield client
    await client.stop()
    await service.stop()


async def publish(producer: AIOKafkaProducer, topics: Topics, *items: EventEnvelope) -> None:
    for item in items:
        await producer.send_and_wait(topics.events, item.model_dump_json().encode(), key=KEY.encode())


async def wait_until(check: Any, what: str, seconds: float = 30.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not await check():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


async def sentinel(producer: AIOKafkaProducer, topics: Topics, box: DeferringMailBox) -> None:
    """One more invitation, waited for: everything published before it is handled."""
    address = f"sentinel-{uuid.uuid4().hex[:8]}@example.com"
    await publish(producer, topics, envelope(invited(email=address)))

    async def arrived() -> bool:
        return len(box.to(address)) == 1

    await wait_until(arrived, f"sentinel to {address}")


async def scan(database_url: str, *needles: str) -> list[str]:
    """Every (table.column) in schema `notifications` of a text, json or bytea type (or an
    array of them) holding any of `needles`, case-insensitively."""
    conn = await asyncpg.connect(database_url)
    try:
        columns = await conn.fetch(
            """
            SELECT c.table_name, c.column_name, c.data_type, c.udt_name
              FROM information_schema.columns c
              JOIN information_schema.tables t USING (table_schema, table_name)
             WHERE c.table_schema = 'notifications' AND t.table_type = 'BASE TABLE'
            """
        )
        scanned, hits = 0, []
        for column in columns:
            name = f'notifications."{column["table_name"]}"'
            col = f'"{column["column_name"]}"'
            kind = column["udt_name"].lstrip("_")
            if kind not in {"text", "varchar", "bpchar", "json", "jsonb", "bytea"}:
                continue
            if column["udt_name"] == "bytea":  # printable bytes as they are
                expr = f"lower(encode({col}, 'escape'))"
            else:
                expr = f"lower({col}::text)"
            scanned += 1
            for needle in needles:
                found = await conn.fetchval(
                    f"SELECT count(*) FROM {name} WHERE strpos({expr}, $1) > 0",
                    needle.lower(),
                )
                if found:
                    hits.append(f"{column['table_name']}.{column['column_name']} ~ {needle}")
        assert scanned >= 8  # sent_log's text columns at least: the scan really looked
        return hits
    finally:
        await conn.close()


async def sent_log_rows(database_url: str, *event_ids: uuid.UUID) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(database_url)
    try:
        return list(
            await conn.fetch(
                "SELECT * FROM notifications.sent_log WHERE event_id = ANY($1::uuid[])",
                list(event_ids),
            )
        )
    finally:
        await conn.close()


def plain_text(message: Message) -> str:
    parsed = email.message_from_bytes(message.as_bytes(), policy=email.policy.default)
    assert isinstance(parsed, EmailMessage)
    body = parsed.get_body(("plain",))
    assert body is not None
    text: str = body.get_content()
    return text


async def test_after_user_forgotten_no_table_holds_their_address_or_name_and_nothing_more_is_sent(
    producer: AIOKafkaProducer, settings: NotificationSettings, mailbox: tuple[DeferringMailBox, int]
) -> None:
    box, _ = mailbox
    topics, url = settings.common.topics, settings.common.database_url
    run = uuid.uuid4().hex[:8]
    uid = uuid.uuid4()
    address, name = f"ola.forget-{run}@example.no", f"Ola Glemmes {run}"
    ola = Person(user_id=uid, email=address, name=name)
    friend, later_friend = f"friend-{run}@example.no", f"later-friend-{run}@example.no"

    # 1. E-mails to Ola and naming Ola are sent. The invitation names only the address;
    #    the registration joins it to the account.
    before = [
        envelope(invited(email=address.upper())),
        envelope(UserRegistered(user_id=uid, email=address, name=name)),
        envelope(UserAccessChanged(user=ola, changed_by=person(), chargers=[charger()],
                                   level="charge")),
        envelope(invited(email=friend, inviter=ola)),
    ]
    await publish(producer, topics, *before)

    async def first_ones_sent() -> bool:
        # Waited for, not raced with a sentinel: e-mails to different people go out on
        # different connections, so a later one to someone else may arrive first.
        rows = await sent_log_rows(url, *(e.id for e in before))
        return (len(box.to(address)) == 2 and len(box.to(friend)) == 1
                and len(rows) == 3 and {r["status"] for r in rows} == {"sent"})

    await wait_until(first_ones_sent, "the e-mails to and naming Ola")
    assert name in plain_text(box.to(friend)[0])
    sent_rows = await sent_log_rows(url, *(e.id for e in before))
    assert all(r["envelope"] is None for r in sent_rows)  # sent: envelopes gone for everyone
    assert all(is_key(r["recipient"]) for r in sent_rows)

    # 2. More are queued while the server defers them: one to Ola, one naming Ola.
    box.deferring |= {address, later_friend}
    queued = [
        envelope(UserAccessRemoved(user=ola, removed_by=person(), chargers=[charger()])),
        envelope(invited(email=later_friend, inviter=ola)),
    ]
    await publish(producer, topics, *queued)

    async def tried() -> bool:
        rows = await sent_log_rows(url, *(e.id for e in queued))
        return len(rows) == 2 and all(r["attempts"] >= 1 for r in rows)

    await wait_until(tried, "the queued e-mails to be tried once")
    assert await scan(url, address, name)  # the queued envelopes name Ola: the scan sees it

    # 3. Ola is forgotten.
    pseudonym_email = f"forgotten-{uid.hex[:12]}@forgotten.invalid"
    pseudonym_name = f"Forgotten person {uid.hex[:12]}"
    forgotten = envelope(
        UserForgotten(user_id=uid, pseudonym_email=pseudonym_email, pseudonym_name=pseudonym_name)
    )
    await publish(producer, topics, forgotten)
    await sentinel(producer, topics, box)
    box.deferring.clear()

    async def friend_mailed() -> bool:
        return len(box.to(later_friend)) == 1

    await wait_until(friend_mailed, "the e-mail to the later friend")
    text = plain_text(box.to(later_friend)[0])
    assert name not in text
    assert pseudonym_name in text
    assert await scan(url, address, name) == []
    [to_ola, _] = sorted(
        await sent_log_rows(url, *(e.id for e in queued)), key=lambda r: r["user_id"] is None
    )
    assert (to_ola["status"], to_ola["envelope"], to_ola["error"]) == ("forgotten", None, None)

    # 4. Redelivered events (the originals, plaintext and all) and an event never seen
    #    (a partition lagging behind) send nothing to Ola and store nothing of Ola.
    late = envelope(UserAccessChanged(user=ola, changed_by=person(), chargers=[charger()],
                                      level="manage"))
    count_before = len(box.messages)
    await publish(producer, topics, *before, *queued, forgotten, late)
    await sentinel(producer, topics, box)
    await asyncio.sleep(1.5)  # several retry rounds: a queued e-mail would have gone by now
    assert len(box.to(address)) == 2
    assert len(box.messages) == count_before + 1  # only the sentinel
    assert await sent_log_rows(url, late.id) == []
    assert await scan(url, address, name) == []


OLD_SCHEMA = """
CREATE SCHEMA notifications;
CREATE TABLE notifications.sent_log (
    event_id        uuid        NOT NULL,
    recipient       text        NOT NULL,
    kind            text        NOT NULL,
    event_type      text        NOT NULL,
    message_id      text        NOT NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        integer     NOT NULL DEFAULT 0,
    error           text,
    claimed_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    envelope        text,
    sequence        bigint      NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (event_id, recipient)
);
"""


async def test_a_sent_log_of_the_previous_version_is_migrated_in_place(new_database: Any) -> None:
    url = new_database()
    keys = RecipientKeys(SECRET)
    uid = uuid.uuid4()
    ola = Person(user_id=uid, email="ola@example.no", name="Ola")
    sent = envelope(UserAccessChanged(user=ola, changed_by=person(), chargers=[charger()],
                                      level="charge"))
    pending = envelope(invited(email="per@example.no", inviter=ola))
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(OLD_SCHEMA)
        for env, recipient, status in (
            (sent, "ola@example.no", "sent"),
            (pending, "per@example.no", "pending"),
        ):
            await conn.execute(
                """
                INSERT INTO notifications.sent_log
                    (event_id, recipient, kind, event_type, message_id, status, envelope)
                VALUES ($1, $2, 'k', $3, '<m>', $4, $5)
                """,
                env.id, recipient, env.type, status, env.model_dump_json(),
            )
        pool = await asyncpg.create_pool(url, min_size=1, max_size=2)
        try:
            log = SentLog(pool, keys)
            await log.create_schema()
            await log.create_schema()  # a second start changes nothing
            assert await log.status(sent.id, "OLA@example.no") == "sent"
            assert await log.status(pending.id, "per@example.no") == "pending"
        finally:
            await pool.close()
        rows = {r["event_id"]: r for r in await conn.fetch("SELECT * FROM notifications.sent_log")}
        assert rows[sent.id]["recipient"] == keys("ola@example.no")
        assert rows[sent.id]["user_id"] == uid
        assert rows[sent.id]["envelope"] is None
        assert rows[pending.id]["envelope"] is not None  # still to send
        assert rows[pending.id]["user_id"] is None
        links = await conn.fetch("SELECT user_id, recipient FROM notifications.recipient_users")
        assert (uid, keys("ola@example.no")) in {(r["user_id"], r["recipient"]) for r in links}
        # the status check was widened
        await conn.execute(
            "UPDATE notifications.sent_log SET status = 'forgotten' WHERE event_id = $1",
            pending.id,
        )
        assert json.loads(rows[pending.id]["envelope"])["data"]["email"] == "per@example.no"
    finally:
        await conn.close()
