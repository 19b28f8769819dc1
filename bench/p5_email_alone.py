"""P5 on its own: e-mails per second through the notification service alone, against a
raw baseline (`make bench`'s P5, `p5_email`, measures it inside the whole system).

Both figures are taken in the same run, to the same local aiosmtpd server (its own
process, so it does not share our GIL):

- **raw**: aiosmtplib over `SMTP_CONNECTIONS` connections, sending one pre-built
  message again and again (no Kafka, no PostgreSQL, no rendering);
- **service**: a `NotificationService` consuming `count` events from Kafka (invitations
  and access changes in nb/fr/en, each to its own recipient), claiming them in the
  sent-log and sending them; measured from the first publish to the last e-mail received.

The server writes one line per received e-mail (Message-ID and recipient), so the same
run also counts duplicates. `python -m bench.p5_email_alone` runs it against
`DATABASE_URL` and `KAFKA_BOOTSTRAP_SERVERS` and prints JSON; `measure` is what the
integration test (`tests/integration/notifications/test_throughput.py`) calls.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiosmtplib
from aiokafka import AIOKafkaProducer
from aiosmtpd.controller import Controller

from events.access_events import AccessEvent, ChargerRef, Person, UserAccessChanged, UserInvited
from events.envelope import EventEnvelope
from events.text import Locale
from events.topics import Topics
from services.common.config import Settings
from services.local.tansu import free_port, wait_for_port
from services.notifications.config import NotificationSettings
from services.notifications.mail.message import address, build_message, message_id, sender_address
from services.notifications.mail.recipients import notifications_for
from services.notifications.mail.render import LinkSettings, Renderer
from services.notifications.privacy import RecipientKeys
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


# -- the SMTP sink (its own process) -------------------------------------------------


class _SinkHandler:
    def __init__(self, out: Path) -> None:
        self._out = out.open("a", buffering=1, encoding="utf-8")

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        content: bytes = envelope.content
        start = content.find(b"\r\nMessage-ID: ")
        end = content.find(b"\r\n", start + 2)
        msg_id = content[start + 14 : end].decode("ascii", "replace") if start >= 0 else "?"
        self._out.write(f"{msg_id}\t{','.join(envelope.rcpt_tos)}\n")
        return "250 OK"


def run_sink(port: int, out: Path) -> None:
    controller = Controller(_SinkHandler(out), hostname="127.0.0.1", port=port)
    controller.start()
    stop = False

    def on_term(*_: Any) -> None:
        nonlocal stop
        stop = True

    signal.signal(signal.SIGTERM, on_term)
    while not stop:
        time.sleep(0.2)
    controller.stop()


class Sink:
    """The aiosmtpd server process and what it received."""

    def __init__(self) -> None:
        self.port = free_port()
        self._dir = tempfile.TemporaryDirectory(prefix="p5-sink-")
        self.out = Path(self._dir.name) / "received.tsv"
        self.out.touch()
        self._process: subprocess.Popen[bytes] | None = None
        self._offset = 0
        self._received: list[tuple[str, str]] = []
        self._ids: set[str] = set()

    def start(self) -> None:
        self._process = subprocess.Popen(  # noqa: S603 - our own module, our own interpreter
            [
                sys.executable,
                "-m",
                "bench.p5_email_alone",
                "--sink",
                str(self.port),
                str(self.out),
            ],
            cwd=Path(__file__).resolve().parents[1],  # `bench` is importable from the root
        )
        wait_for_port("127.0.0.1", self.port)

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(10)
        self._dir.cleanup()

    def received(self) -> list[tuple[str, str]]:
        """Every (Message-ID, recipients) received so far; reads only what is new."""
        with self.out.open("rb") as file:
            file.seek(self._offset)
            chunk = file.read()
        complete = chunk[: chunk.rfind(b"\n") + 1]
        self._offset += len(complete)
        for line in complete.decode("utf-8").splitlines():
            msg_id, _, rcpt = line.partition("\t")
            self._received.append((msg_id, rcpt))
            self._ids.add(msg_id)
        return self._received

    def ids(self) -> set[str]:
        self.received()
        return self._ids


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


def sample_message(settings: NotificationSettings) -> tuple[str, str, bytes]:
    """One e-mail as the service would write it (an invitation), for the raw sends."""
    [notification] = notifications_for(events(1)[0])
    rendered = Renderer(LinkSettings("https://bench.example", b"k")).render(notification)
    built = build_message(
        rendered,
        sender=sender_address(settings.mail_from),
        to=address("raw@example.com"),
        msg_id="<raw@bench>",
        date=datetime.now(UTC),
        locale="nb",
    )
    return built.sender, built.recipient, built.data


async def raw_baseline(
    port: int, count: int, connections: int, message: tuple[str, str, bytes]
) -> tuple[float, float]:
    """Raw sends per second, and CPU milliseconds per send."""
    sender, recipient, data = message
    clients = [aiosmtplib.SMTP(hostname="127.0.0.1", port=port) for _ in range(connections)]
    for client in clients:
        await client.connect()
    left = count

    async def worker(client: aiosmtplib.SMTP) -> None:
        nonlocal left
        while left > 0:
            left -= 1
            await client.sendmail(sender, [recipient], data)

    started, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(worker(c) for c in clients))
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    for client in clients:
        await client.quit()
    return count / elapsed, cpu * 1000 / count


async def _wait_for(sink: Sink, wanted: set[str], seconds: float) -> float:
    """Poll the sink until every wanted Message-ID arrived; returns when the last did."""
    deadline = time.perf_counter() + seconds
    while True:
        got = sink.ids()
        if wanted <= got:
            return time.perf_counter()
        if time.perf_counter() > deadline:
            raise TimeoutError(f"{len(wanted & got)} of {len(wanted)} e-mails arrived")
        await asyncio.sleep(0.05)


async def measure(
    database_url: str,
    bootstrap: str,
    count: int = 3000,
    connections: int = 8,
    raw_count: int | None = None,
) -> Result:
    sink = Sink()
    sink.start()
    tag = uuid.uuid4().hex[:8]
    settings = NotificationSettings(
        common=Settings(
            database_url=database_url,
            kafka_bootstrap_servers=bootstrap,
            smtp_url=f"smtp://127.0.0.1:{sink.port}",
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
        sample = sample_message(settings)
        raw_before = await raw_baseline(sink.port, raw_count or count, connections, sample)
        await service.start()
        await producer.start()
        # Warm up: the consumer group has joined once one e-mail has gone through.
        [warm] = events(1)
        await producer.send_and_wait(settings.common.topics.events, warm.model_dump_json().encode())
        keys = RecipientKeys(settings.common.token_secret)
        await _wait_for(sink, {_msg_id(warm, keys)}, 60)

        batch = events(count)
        payloads = [(e.subject.encode(), e.model_dump_json().encode()) for e in batch]
        wanted = {_msg_id(e, keys) for e in batch}
        started, cpu = time.perf_counter(), time.process_time()
        sends = [
            await producer.send(settings.common.topics.events, value, key=key)
            for key, value in payloads
        ]
        await asyncio.gather(*sends)
        finished = await _wait_for(sink, wanted, 120)
        cpu = time.process_time() - cpu
        await asyncio.sleep(0.5)  # anything sent twice would show up by now
        mine = Counter(pair for pair in sink.received() if pair[0] in wanted)
        # The raw baseline before and after, averaged: the machine's load drifts.
        raw_after = await raw_baseline(sink.port, raw_count or count, connections, sample)
        raw = (raw_before[0] + raw_after[0]) / 2
        raw_cpu = (raw_before[1] + raw_after[1]) / 2
        rate = count / (finished - started)
        return Result(
            count=count,
            delivered=len(mine),
            duplicates=sum(mine.values()) - len(mine),
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


def _msg_id(envelope: EventEnvelope, keys: RecipientKeys) -> str:
    [notification] = notifications_for(envelope)
    return message_id(notification.event_id, keys(notification.recipient))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="P5: e-mail throughput vs raw aiosmtplib")
    parser.add_argument("--sink", nargs=2, metavar=("PORT", "FILE"), help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=1)
    args = parser.parse_args(argv)
    if args.sink:
        run_sink(int(args.sink[0]), Path(args.sink[1]))
        return
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
