"""P5's raw baseline: aiosmtplib sending finished message bytes, nothing else.

A baseline must do the same work as the measure minus what is judged. The notification
service writes each e-mail's bytes itself (`mail.message.build_message`, tens of
microseconds) and hands them to SMTP; a baseline that builds an `EmailMessage` and lets
aiosmtplib flatten it on every send spends ~1 ms of CPU a message the service never
spends, and so flatters the service. Here every message is written by the service's own
writer, each to a recipient and with a Message-ID of its own (as the service's are, so the
sink counts them apart), before the clock starts.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime

import aiosmtplib

from services.notifications.mail.message import (
    OutgoingEmail,
    address,
    build_message,
    sender_address,
)
from services.notifications.mail.render import RenderedEmail

MAIL_FROM = "charger-access <no-reply@charger-access.local>"
"""The notification service's default `MAIL_FROM` (a literal: the settings class's
defaults are not class attributes once it is a pydantic-settings model)."""


def prebuilt(rendered: RenderedEmail, mail_from: str, count: int) -> list[OutgoingEmail]:
    """`count` finished messages of `rendered`, to distinct recipients and Message-IDs."""
    run = uuid.uuid4().hex[:8]
    sender = sender_address(mail_from)
    now = datetime.now(UTC)
    return [
        build_message(
            rendered,
            sender=sender,
            to=address(f"raw-{run}-{i}@bench.example"),
            msg_id=f"<raw-{run}-{i}@bench>",
            date=now,
            locale="nb",
        )
        for i in range(count)
    ]


async def send_prebuilt(
    port: int, messages: Sequence[OutgoingEmail], connections: int
) -> tuple[float, float]:
    """Send every message once over `connections` open connections to 127.0.0.1:`port`:
    messages per second, and CPU milliseconds of this process per message. Connecting
    is not timed (the service keeps its connections open too)."""
    clients = [
        aiosmtplib.SMTP(hostname="127.0.0.1", port=port, timeout=30) for _ in range(connections)
    ]
    for client in clients:
        await client.connect()
    pending = iter(messages)

    async def worker(client: aiosmtplib.SMTP) -> None:
        for message in pending:
            await client.sendmail(message.sender, [message.recipient], message.data)

    started, cpu = time.perf_counter(), time.process_time()
    try:
        await asyncio.gather(*(worker(c) for c in clients))
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    finally:
        for client in clients:
            await client.quit()
    count = max(len(messages), 1)
    return len(messages) / max(elapsed, 1e-9), cpu * 1000 / count
