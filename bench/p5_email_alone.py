"""P5 on its own: e-mails per second through the notification service alone, against a
raw baseline (`make bench`'s P5, `p5_email`, measures it inside the whole system).

Both figures are taken in the same run, to the same SMTP sink (`harness.sink_process`:
the shared sink in a process of its own, so it does not share our GIL):

- **raw**: aiosmtplib over `SMTP_CONNECTIONS` connections, sending messages the
  service's own writer built before the clock started, each to a recipient of its own
  (`bench.raw_smtp`: no Kafka, no PostgreSQL, no rendering, no serialising);
- **service**: a `NotificationService` consuming `count` events from Kafka (invitations
  and access changes in nb/fr/en, each to its own recipient), claiming them in the
  sent-log and sending them; measured from the first publish to the last e-mail received.

The sink counts messages and distinct Message-IDs (one per event and recipient), so the
same run also counts duplicates. `python -m bench.p5_email_alone` runs it against
`DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` and prints JSON; `measure` is what the
integration test (`tests/integration/notifications/test_throughput.py`) calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time
import uuid
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

from aiokafka import AIOKafkaProducer

from bench.raw_smtp import prebuilt, send_prebuilt
from charger_access_client.access_events import (
    AccessEvent,
    ChargerRef,
    Person,
    UserAccessChanged,
    UserInvited,
)
from charger_access_client.envelope import EventEnvelope
from charger_access_client.text import Locale
from charger_access_client.topics import Topics
from harness.sink_process import SinkProcess
from services.common.config import Settings
from services.notifications.config import NotificationSettings
from services.notifications.mail.recipients import notifications_for
from services.notifications.mail.render import LinkSettings, RenderedEmail, Renderer
from services.notifications.service import NotificationService

LOCALES: tuple[Locale, ...] = ("nb", "fr", "en")


@dataclass(frozen=True)
class Result:
    count: int
    delivered: int
    duplicates: int
    emails_per_second: float
    raw_per_second: float
    ratio: float
    cpu_ms_per_email: float
    """CPU time of this process (service, producer, polling) per e-mail: steadier than
    rates on a shared machine."""
    raw_cpu_ms_per_email: float
    connections: int


# -- the events and the raw baseline ---------------------------------------------------


def events(count: int) -> list[EventEnvelope]:
    """Invitations and access changes, nb/fr/en, each to a recipient of its own."""
    garage = ChargerRef(charger_id=uuid.uuid4(), name="Garasjen", serial_number="WB-1")
    cabin = ChargerRef(charger_id=uuid.uuid4(), name="Hytta på Geilo", serial_number="WB-2")
    kari = Person(user_id=uuid.uuid4(), email="kari@example.no", name="Kari Nordmann")
    run = uuid.uuid4().hex[:8]
    result = []
    for i in range(count):
        locale = LOCALES[i % 3]
        to = f"p5-{run}-{i}@example.com"
        event: AccessEvent
        if i % 2:
            event = UserAccessChanged(
                user=Person(user_id=uuid.uuid4(), email=to, name=f"User {i}", locale=locale),
                changed_by=kari,
                chargers=[garage, cabin],
                level="charge",
            )
        else:
            event = UserInvited(
                invitation_id=uuid.uuid4(),
                email=to,
                chargers=[garage, cabin],
                level="charge",
                locale=locale,
                inviter=kari,
                expires_at=datetime.now(UTC) + timedelta(days=7),
                token_salt=uuid.uuid4().hex,
            )
        result.append(
            EventEnvelope(
                id=uuid.uuid4(),
                type=type(event).__name__,
                subject=str(uuid.uuid4()),
                sequence=i + 1,
                time=datetime.now(UTC),
                data=event.model_dump(mode="json"),
            )
        )
    return result


def sample_rendered() -> RenderedEmail:
    """One e-mail as the service renders it (an invitation), for the raw sends."""
    [notification] = notifications_for(events(1)[0])
    return Renderer(LinkSettings("https://bench.example", b"k")).render(notification)


async def _wait_for(sink: SinkProcess, unique: int, seconds: float) -> float:
    """Poll the sink until it has seen `unique` distinct Message-IDs; returns when it had."""
    deadline = time.perf_counter() + seconds
    while True:
        got = int(sink.stats()["unique"])
        if got >= unique:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{got} of {unique} distinct e-mails arrived")
        await asyncio.sleep(0.05)


async def measure(
    database_url: str,
    bootstrap: str,
    count: int = 3000,
    connections: int = 8,
    raw_count: int | None = None,
) -> Result:
    sink = SinkProcess()
    sink.start()
    tag = uuid.uuid4().hex[:8]
    settings = NotificationSettings(
        common=Settings(
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            smtp_url=sink.url,
            public_base_url="https://bench.example",
            topics=Topics(f"p5-{tag}."),
            consumer_group_prefix=f"p5-{tag}",
        ),
        smtp_connections=connections,
        http_port=0,
    )
    service = NotificationService(settings)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False, linger_ms=5
    )
    try:
        rendered = sample_rendered()
        raw_count = raw_count or count
        raw_before = await send_prebuilt(
            sink.port, prebuilt(rendered, settings.mail_from, raw_count), connections
        )
        await service.start()
        await producer.start()
        # Warm up: the consumer group has joined once one e-mail has gone through. Every
        # e-mail the service sends has a Message-ID of its own (one recipient per event):
        # the sink's distinct Message-IDs count them, its total counts repeats too.
        [warm] = events(1)
        await producer.send_and_wait(settings.common.topics.events, warm.model_dump_json().encode())
        await _wait_for(sink, int(sink.stats()["unique"]) + 1, 60)
        before = sink.stats()

        batch = events(count)
        payloads = [(e.subject.encode(), e.model_dump_json().encode()) for e in batch]
        started, cpu = time.perf_counter(), time.process_time()
        sends = [
            await producer.send(settings.common.topics.events, value, key=key)
            for key, value in payloads
        ]
        await asyncio.gather(*sends)
        finished = await _wait_for(sink, int(before["unique"]) + count, 120)
        cpu = time.process_time() - cpu
        await asyncio.sleep(0.5)  # anything sent twice would show up by now
        after = sink.stats()
        delivered = int(after["unique"]) - int(before["unique"])
        # The raw baseline before and after, averaged: the machine's load drifts.
        raw_after = await send_prebuilt(
            sink.port, prebuilt(rendered, settings.mail_from, raw_count), connections
        )
        raw = (raw_before[0] + raw_after[0]) / 2
        raw_cpu = (raw_before[1] + raw_after[1]) / 2
        rate = count / (finished - started)
        return Result(
            count=count,
            delivered=delivered,
            duplicates=int(after["total"]) - int(before["total"]) - delivered,
            emails_per_second=round(rate, 1),
            raw_per_second=round(raw, 1),
            ratio=round(rate / raw, 3),
            cpu_ms_per_email=round(cpu * 1000 / count, 3),
            raw_cpu_ms_per_email=round(raw_cpu, 3),
            connections=connections,
        )
    finally:
        await producer.stop()
        await service.stop()
        sink.stop()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="P5: e-mail throughput vs raw aiosmtplib")
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    common = Settings.from_env()
    for _ in range(args.repeat):
        result = asyncio.run(
            measure(
                common.database_url, common.kafka_bootstrap_servers, args.count, args.connections
            )
        )
        print(json.dumps(asdict(result)))


if __name__ == "__main__":
    main()
