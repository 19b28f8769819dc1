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
from typing import Any

import asyncpg
import pytest

from services.common.timeouts import wait_for
from services.local.smtp_sink import SmtpSink
from services.notifications.ports import Claim
from services.notifications.privacy import RecipientKeys
from services.notifications.sent_log.hand_over import MarkNotConfirmedError
from services.notifications.sent_log.queue import SentLog

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def database_url(new_database: Any) -> str:
    """A database of this module's own: a test here kills every other connection to it."""
    url: str = new_database()
    return url

SENDER = """
import asyncio, os, signal, sys, uuid
import asyncpg
from services.notifications.sent_log.hand_over import HandOverMarks
from services.notifications.mail.message import OutgoingEmail
from services.notifications.smtp.pool import SmtpPool

async def main(dsn: str, port: str, event_id: str, key: str, address: str) -> None:
    marks = HandOverMarks(dsn)
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
    log = SentLog(pool, KEYS, database_url=database_url)
    await log.create_schema()
    yield log
    await pool.close()


KEYS = RecipientKeys(b"hand-over-test")


async def test_a_sender_killed_right_after_handing_over_neither_loses_nor_doubles(
    database_url: str, smtp_server: SmtpSink, sent_log: SentLog
) -> None:
    port = str(smtp_server.port)
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
        _, stderr = await wait_for(process.communicate(), 30)
        assert process.returncode == -signal.SIGKILL, stderr.decode()
        killed.append(event_id)

    await smtp_server.wait_for(3)
    arrived = [m["Message-ID"] for m in smtp_server.messages]
    assert sorted(arrived) == sorted(f"<{e}@test>" for e in killed)
    await asyncio.sleep(0.6)  # the dead senders' leases run out
    assert await sent_log.settle_handed_over() == 3
    assert await sent_log.lease_due(10, 60.0) == []  # nothing to send again
    for i, event_id in enumerate(killed):
        assert await sent_log.status(event_id, f"person{i}@example.no") == "sent"


async def test_marks_reconnect_after_their_connection_is_killed(
    sent_log: SentLog, database_url: str
) -> None:
    marks = sent_log.hand_over_marks()
    admin = await asyncpg.connect(database_url)

    async def kill_the_others() -> None:  # the database restarts under the sender
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )

    async def claimed() -> tuple[uuid.UUID, str]:
        event_id, key = uuid.uuid4(), KEYS(f"{uuid.uuid4().hex}@example.no")
        claim = Claim(event_id, key, "invitation", "UserInvited", f"<{event_id}@test>", "{}")
        await sent_log.claim([claim], lease_seconds=60.0)
        return event_id, key

    async def marked(event_id: uuid.UUID) -> bool:
        return bool(
            await admin.fetchval(
                "SELECT handed_over_at IS NOT NULL FROM notifications.sent_log"
                " WHERE event_id = $1",
                event_id,
            )
        )

    try:
        first, second = await claimed(), await claimed()
        await marks.ready()
        # Lost while idle (the pool takes the broken connection back): the next send
        # must get a new one.
        await kill_the_others()
        await asyncio.sleep(0.5)
        await marks.ready()
        await marks.mark(*first)
        assert await marked(first[0])
        # Lost just before a mark: that mark fails, the next send gets a new connection.
        await kill_the_others()
        with pytest.raises(MarkNotConfirmedError):
            await marks.mark(*second)
        await marks.ready()
        await marks.mark(*second)
        assert await marked(second[0])
    finally:
        await marks.close()
        await admin.close()


async def test_marks_made_ready_hold_no_lock_on_the_sent_log(
    sent_log: SentLog, database_url: str
) -> None:
    """A sender's marks connection is made ready before each e-mail, and a deferred
    e-mail writes no mark: the ready connection must not sit in a transaction, or
    forgetting's table lock waits on it (and the service on forgetting)."""
    marks = sent_log.hand_over_marks()
    admin = await asyncpg.connect(database_url)
    try:
        await marks.ready()
        async with admin.transaction():
            await admin.execute("SET LOCAL lock_timeout = '2s'")
            await admin.execute("LOCK TABLE notifications.sent_log IN SHARE ROW EXCLUSIVE MODE")
    finally:
        await marks.close()
        await admin.close()


async def test_a_mark_the_database_refuses_fails_and_the_next_gets_a_new_connection(
    sent_log: SentLog, database_url: str
) -> None:
    """A statement that fails (cancelled while it waits on a lock) is not stored; the
    connection is not trusted after it, and the next mark goes on a new one."""
    marks = sent_log.hand_over_marks()
    event_id, key = uuid.uuid4(), KEYS("refused@example.no")
    claim = Claim(event_id, key, "invitation", "UserInvited", f"<{event_id}@test>", "{}")
    await sent_log.claim([claim], lease_seconds=60.0)
    admin = await asyncpg.connect(database_url)
    try:
        await marks.ready()
        before = await _mark_backends(admin)
        async with admin.transaction():
            await admin.execute("LOCK TABLE notifications.sent_log IN ACCESS EXCLUSIVE MODE")
            waiting = marks.mark(event_id, key)
            await asyncio.sleep(0.3)  # the mark waits on the lock
            for pid in before:
                await admin.execute("SELECT pg_cancel_backend($1)", pid)
            with pytest.raises(MarkNotConfirmedError, match="cancel"):
                await wait_for(waiting, 10)
        await marks.ready()
        assert await _mark_backends(admin) != before  # a new connection
        await wait_for(marks.mark(event_id, key), 10)
        assert await admin.fetchval(
            "SELECT handed_over_at IS NOT NULL FROM notifications.sent_log WHERE event_id = $1",
            event_id)
    finally:
        await marks.close()
        await admin.close()


async def test_a_mark_larger_than_the_sockets_buffer_is_written_whole(
    sent_log: SentLog,
) -> None:
    """libpq takes what the kernel will and leaves the rest to be flushed when the socket
    drains: a mark of 16 MB (no row has such a recipient) still arrives and is answered,
    and the connection serves the next."""
    marks = sent_log.hand_over_marks()
    event_id, key = uuid.uuid4(), KEYS("large@example.no")
    claim = Claim(event_id, key, "invitation", "UserInvited", f"<{event_id}@test>", "{}")
    await sent_log.claim([claim], lease_seconds=60.0)
    try:
        await marks.ready()
        await wait_for(marks.mark(uuid.uuid4(), "x" * 16_000_000), 30)
        await marks.ready()
        await wait_for(marks.mark(event_id, key), 10)
        assert await sent_log.settle_handed_over() == 0  # marked, its lease still running
    finally:
        await marks.close()


async def _mark_backends(admin: asyncpg.Connection) -> set[int]:
    """The backends that prepared the mark statement (each mark connection's)."""
    rows = await admin.fetch(
        "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
        " AND query LIKE '%hand_over_mark%' AND pid <> pg_backend_pid()")
    return {int(r["pid"]) for r in rows}


async def test_a_mark_whose_waiter_was_cancelled_does_not_block_the_next(
    sent_log: SentLog,
) -> None:
    """A sender cancelled while its mark was in flight: the next e-mail's mark must go,
    on a new connection if the reply has not come yet."""
    marks = sent_log.hand_over_marks()
    first, second = uuid.uuid4(), uuid.uuid4()
    key = KEYS("cancelled@example.no")
    for event_id in (first, second):
        claim = Claim(event_id, key, "invitation", "UserInvited", f"<{event_id}@test>", "{}")
        await sent_log.claim([claim], lease_seconds=60.0)
    try:
        await marks.ready()
        marks.mark(first, key).cancel()
        await marks.ready()
        await wait_for(marks.mark(second, key), 10)
        assert await sent_log.settle_handed_over() == 0  # marked, leases still running
    finally:
        await marks.close()
