"""P5: e-mails/s from the notification service to a local aiosmtpd server, and duplicates,
against raw aiosmtplib sends over as many connections as the service uses.

A real `UserInvited` event from the earlier measures is the template: copies with fresh
event ids and recipients are published on `access.events` at once (as the relay would
after a burst of invitations), and we time from the first publish to the last e-mail's
arrival at the sink. Duplicates are e-mails whose Message-ID the sink saw before, over
the whole run (the invitations of P1 and P2 included).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from email.message import EmailMessage
from typing import Any

import aiosmtplib
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from bench.core import Bench, wait_until
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


async def publish_invitations(b: Bench, template: dict[str, Any], count: int) -> float:
    """Publish `count` copies; returns the monotonic time of the first send."""
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
        started = time.monotonic()
        for key, value in values:
            await producer.send(b.system.topics.events, value, key=key,
                                headers=[("content-type", b"application/cloudevents+json")])
        await producer.flush()
        return started
    finally:
        await producer.stop()


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


def _message(i: int, size: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "charger-access <no-reply@charger-access.local>"
    message["To"] = f"raw-{i}@bench.example"
    message["Subject"] = "You are invited to use a charger"
    message["Message-ID"] = f"<raw-{uuid.uuid4().hex}@bench>"
    text = ("x" * 70 + "\n") * max(1, size // 71)
    message.set_content(text)
    message.add_alternative(f"<html><body><pre>{text}</pre></body></html>", subtype="html")
    return message


async def raw_smtp(b: Bench, count: int, connections: int) -> float:
    sink = b.system.sink
    assert sink is not None
    port = int(sink.url.rsplit(":", 1)[1])
    messages = [_message(i, 1500) for i in range(count)]
    queue: asyncio.Queue[EmailMessage] = asyncio.Queue()
    for message in messages:
        queue.put_nowait(message)

    async def sender() -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30)
        await client.connect()
        try:
            while not queue.empty():
                await client.send_message(queue.get_nowait())
        finally:
            await client.quit()

    started = time.monotonic()
    await asyncio.gather(*(sender() for _ in range(connections)))
    return count / (time.monotonic() - started)


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
            started = await publish_invitations(b, template, plan.p5_emails)
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
                      f"aiosmtplib, {plan.smtp_connections} conns", "higher",
                      Target("value", ">=", 500.0),
                      f"{plan.p5_emails:,} invitation events per rep; "
                      f"duplicates {duplicates}, missing {late}"))
    b.rows.append(Row("P5", "duplicate e-mails (whole run)", "mails", [float(duplicates)],
                      better="lower", target=Target("value", "<=", 0.0)))
    b.details["P5"] = {"before": before, "duplicates": duplicates, "missing": late,
                       "sink": raw_before}
