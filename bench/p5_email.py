"""P5: e-mails/s from the notification service to a local aiosmtpd server, and duplicates,
against raw aiosmtplib sends of pre-built bytes (`bench.raw_smtp`) over as many
connections as the service uses.

A real `UserInvited` event from the earlier measures is the template: copies with fresh
event ids and recipients are published on `access.events` at once (as the relay would
after a burst of invitations) while the notification service is paused (SIGSTOP), and we
time from its resumption to the last e-mail's arrival at the sink. So the service meets
the burst as a backlog, and the clock holds its work alone, as the raw client's holds
its own. Until 6 Dec (ninth session) the clock ran from the first publish, so the bench's
producer and the broker's intake of the burst took the two cores beside the service (~8 %
of its rate in alternating repetitions): work the raw baseline, whose messages are built
before its clock, never has beside it. Duplicates are e-mails whose Message-ID the sink
saw before, over the whole run (the invitations of P1 and P2 included).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import time
import uuid
from collections.abc import Iterator
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.core import Bench, wait_until
from bench.p5_email_alone import sample_rendered
from bench.raw_smtp import MAIL_FROM, prebuilt, send_prebuilt
from bench.stats import Row, Target


async def invitation_template(b: Bench, within: float = 30.0) -> dict[str, Any]:
    consumer = AIOKafkaConsumer(b.system.topics.events, bootstrap_servers=b.system.kafka,
                                group_id=None, auto_offset_reset="earliest",
                                enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=500, max_records=1000)
            for records in batches.values():
                for record in records:
                    envelope: dict[str, Any] = json.loads(record.value)
                    if envelope.get("type") == "UserInvited":
                        return envelope
    finally:
        await consumer.stop()
    raise RuntimeError("no UserInvited event on the events topic to copy")


async def publish_invitations(b: Bench, template: dict[str, Any], count: int) -> None:
    """Publish `count` copies, each acknowledged by every replica (acks=all)."""
    producer = AIOKafkaProducer(bootstrap_servers=b.system.kafka, acks="all",
                                enable_idempotence=False, linger_ms=5)
    await producer.start()
    try:
        values = []
        for _ in range(count):
            event = json.loads(json.dumps(template))
            event["id"] = str(uuid.uuid4())
            event["data"]["email"] = f"p5-{uuid.uuid4().hex}@bench.example"
            values.append((event["subject"].encode(), json.dumps(event).encode()))
        for key, value in values:
            await producer.send(b.system.topics.events, value, key=key,
                                headers=[("content-type", b"application/cloudevents+json")])
        await producer.flush()
    finally:
        await producer.stop()


@contextlib.contextmanager
def paused(pid: int) -> Iterator[None]:
    """The process stopped for the block (its Kafka session outlives a few seconds)."""
    os.kill(pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(pid, signal.SIGCONT)


async def wait_for_mail(b: Bench, expected_unique: int, within: float,
                        stalled: float = 15.0) -> dict[str, Any]:
    """Until `expected_unique` distinct e-mails arrived, `within` s passed, or none arrived
    for `stalled` s (a broken notification service must not eat the time budget)."""
    sink = b.system.sink
    assert sink is not None
    progress = {"unique": -1, "at": time.monotonic()}

    def done() -> bool:
        unique = int(sink.stats()["unique"])
        now = time.monotonic()
        if unique != progress["unique"]:
            progress.update(unique=unique, at=now)
        return unique >= expected_unique or now - progress["at"] > stalled

    await wait_until(done, within, 0.05)
    return sink.stats()


async def raw_smtp(b: Bench, count: int, connections: int) -> float:
    """The baseline: the same number of messages, written before the clock starts."""
    sink = b.system.sink
    assert sink is not None
    port = int(sink.url.rsplit(":", 1)[1])
    messages = prebuilt(sample_rendered(), MAIL_FROM, count)
    rate, _ = await send_prebuilt(port, messages, connections)
    return rate


async def drain(b: Bench) -> dict[str, Any]:
    """Wait (bounded) until every accepted invitation so far has its e-mail."""
    started = time.monotonic()
    stats = await wait_for_mail(b, b.invites_accepted, b.plan.drain_timeout)
    waited = time.monotonic() - started
    b.say(f"e-mails so far: {stats['unique']:,} of {b.invites_accepted:,} invitations "
          f"(waited {waited:.1f} s for the backlog)")
    return {**stats, "expected": b.invites_accepted, "waited_s": waited}


async def run(b: Bench) -> None:
    plan = b.plan
    sink = b.system.sink
    assert sink is not None
    before = await drain(b)
    template = await invitation_template(b)
    values: list[float] = []
    expected = before["unique"]
    late = 0
    for rep in range(plan.reps):
        expected += plan.p5_emails
        async with b.profiled("notifications-service", "p5-notifications", rep == 0):
            with paused(b.system.service_pids()["notifications-service"]):
                await publish_invitations(b, template, plan.p5_emails)  # all acknowledged
            started = time.monotonic()
            stats = await wait_for_mail(b, expected, max(60.0, plan.p5_emails / 50))
        if stats["unique"] < expected:
            late += expected - stats["unique"]
            expected = stats["unique"]
        values.append(plan.p5_emails / max(stats["last"] - started, 1e-6))
        b.say(f"P5 rep {rep + 1}: {values[-1]:,.0f} e-mails/s")
    raw_before = sink.stats()
    raw = [await raw_smtp(b, plan.p5_emails, plan.smtp_connections) for _ in range(plan.reps)]
    b.say(f"P5 raw aiosmtplib: {', '.join(f'{v:,.0f}' for v in raw)} e-mails/s")
    duplicates = raw_before["duplicates"]
    b.rows.append(Row("P5", "e-mails to aiosmtpd", "mail/s", values, raw,
                      f"aiosmtplib pre-built bytes, {plan.smtp_connections} conns", "higher",
                      Target("ratio", ">=", 0.7),
                      f"{plan.p5_emails:,} invitation events per rep; "
                      f"duplicates {duplicates}, missing {late}"))
    b.rows.append(Row("P5", "duplicate e-mails (whole run)", "mails", [float(duplicates)],
                      better="lower", target=Target("value", "<=", 0.0)))
    b.details["P5"] = {"before": before, "duplicates": duplicates, "missing": late,
                       "sink": raw_before}
