"""Killed the instant an e-mail is handed over: the SMTP server has it, and so has the
sent-log's mark, so it is counted sent and never sent again. Real processes: a sender
killed with SIGKILL from inside its hand-over callback, aiosmtpd, PostgreSQL."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from services.notifications.privacy import RecipientKeys
from services.notifications.sent_log import Claim, SentLog
from tests.conftest import SmtpServer

pytestmark = pytest.mark.integration

SENDER = """
import asyncio, os, signal, sys, uuid
import asyncpg
from services.notifications.hand_over import HandOverMarks
from services.notifications.message import OutgoingEmail
from services.notifications.smtp import SmtpPool

async def main(dsn: str, port: str, event_id: str, key: str, address: str) -> None:
    pool = await asyncpg.create_pool(dsn, min_size=1, max_size=1)
    marks = HandOverMarks(pool)
    await marks.ready()
    smtp = SmtpPool("127.0.0.1", int(port), size=1)

    def handed_over() -> None:
        marks.mark(uuid.UUID(event_id), key)
        os.kill(os.getpid(), signal.SIGKILL)  # nothing after the two writes runs

    data = f"Message-ID: <{event_id}@test>\\r\\nSubject: hello\\r\\n\\r\\nbody\\r\\n".encode()
    await smtp.send(OutgoingEmail("no-reply@test.example", address, "", data), handed_over)
    raise SystemExit("not killed")

asyncio.run(main(*sys.argv[1:]))
"""


@pytest.fixture
async def sent_log(database_url: str) -> AsyncIterator[SentLog]:
    pool = await asyncpg.create_pool(database_url, min_size=1, max_size=2)
    log = SentLog(pool, KEYS)
    await log.create_schema()
    yield log
    await pool.close()


KEYS = RecipientKeys(b"hand-over-test")


async def test_a_sender_killed_right_after_handing_over_neither_loses_nor_doubles(
    database_url: str, smtp_server: SmtpServer, sent_log: SentLog
) -> None:
    port = smtp_server.url.rsplit(":", 1)[1]
    killed = []
    for i in range(3):
        event_id, address = uuid.uuid4(), f"person{i}@example.no"
        key = KEYS(address)
        claim = Claim(event_id, key, "invitation", "UserInvited", f"<{event_id}@test>", "{}")
        assert await sent_log.claim([claim], lease_seconds=0.5) == {(event_id, key)}
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-c", SENDER, database_url, port, str(event_id), key, address,
            stderr=subprocess.PIPE,
        )
        _, stderr = await asyncio.wait_for(process.communicate(), 30)
        assert process.returncode == -signal.SIGKILL, stderr.decode()
        killed.append(event_id)

    await smtp_server.mailbox.wait_for(3)
    arrived = [m["Message-ID"] for m in smtp_server.mailbox.messages]
    assert sorted(arrived) == sorted(f"<{e}@test>" for e in killed)
    await asyncio.sleep(0.6)  # the dead senders' leases run out
    assert await sent_log.settle_handed_over() == 3
    assert await sent_log.lease_due(10, 60.0) == []  # nothing to send again
    for i, event_id in enumerate(killed):
        assert await sent_log.status(event_id, f"person{i}@example.no") == "sent"
