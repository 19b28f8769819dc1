"""Balancing a run's books after several access-service instances wrote one store: each
command sent answered once, each event stored once, the hash chain whole, the read
models equal to a rebuild of the log.

Each check reads what the run left (the results seen on the wire, the stored rows, the
audit tools' verdicts), never what the service says about itself, so a bench and a test
can run the same checks after a load of their own.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from harness.processes import BIN
from services.access.eventlog.reader import EventLog
from services.access.projection.apply import read_position
from services.access.store.application import EVENTS_TABLE


@dataclass
class Books:
    sent: int = 0
    unanswered: int = 0
    answered_twice: int = 0
    """Commands whose result came more than once on `access.command-results`."""
    events: int = 0
    duplicate_event_ids: int = 0
    applied_twice: int = 0
    """Commands whose events were committed by more than one transaction."""
    chain_ok: bool = False
    rebuild_equal: bool = False
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def balanced(self) -> bool:
        return (self.unanswered == self.answered_twice == self.duplicate_event_ids
                == self.applied_twice == 0 and self.chain_ok and self.rebuild_equal
                and self.events > 0)

    def as_json(self) -> dict[str, Any]:
        return {**{k: v for k, v in vars(self).items() if k != "details"},
                "balanced": self.balanced, "details": self.details}


def count_answers(books: Books, sent: Iterable[str], copies: Mapping[str, int]) -> None:
    """`copies`: how many times each command id's result was read on the results topic."""
    ids = list(sent)
    books.sent = len(ids)
    books.unanswered = sum(1 for i in ids if copies.get(i, 0) == 0)
    books.answered_twice = sum(1 for i in ids if copies.get(i, 0) > 1)


async def count_store(books: Books, conn: asyncpg.Connection) -> None:
    """Event ids unique across the published log; each command's events in one commit."""
    log = EventLog()
    ids: Counter[str] = Counter()
    after = 0
    while batch := await log.read(conn, after, 5000):
        ids.update(str(event.envelope.id) for event in batch)
        after = batch[-1].position
    books.events = sum(ids.values())
    books.duplicate_event_ids = sum(n - 1 for n in ids.values() if n > 1)
    transactions: dict[str, set[str]] = {}
    rows = await conn.fetch(f"SELECT xmin::text AS xid, state FROM {EVENTS_TABLE}")  # noqa: S608
    for row in rows:
        if command_id := _command_id(row["state"]):
            transactions.setdefault(command_id, set()).add(row["xid"])
    books.applied_twice = sum(len(x) - 1 for x in transactions.values())
    books.details["commands_with_events"] = len(transactions)


async def caught_up(conn: asyncpg.Connection) -> bool:
    """The projection and the relay have both reached the store's last published event."""
    last = await EventLog().last_published(conn)
    relay = await conn.fetchval("SELECT coalesce(max(position), 0) FROM relay_tracking "
                                "WHERE name = 'access.events'")
    return await read_position(conn) >= last and int(relay or 0) >= last


async def audit_tools(books: Books, env: Mapping[str, str]) -> None:
    """`access-audit verify` (the hash chain) and `access-rebuild --check` on the store."""
    verify = await _run_json([str(BIN / "access-audit"), "verify", "--json"], env)
    books.chain_ok = verify.get("ok") is True and verify.get("code") == 0
    books.details["verify"] = {k: verify[k] for k in ("ok", "count", "code", "output")
                               if k in verify}
    rebuild = await _run_json([str(BIN / "access-rebuild"), "--check", "--json"], env)
    books.rebuild_equal = rebuild.get("ok") is True and rebuild.get("code") == 0
    books.details["rebuild"] = {k: rebuild[k] for k in ("ok", "position", "code", "output")
                                if k in rebuild}
    if not books.rebuild_equal:  # which tables differ, and how
        books.details["rebuild"]["tables"] = [
            t for t in rebuild.get("tables", []) if not t.get("equal", t.get("ok", True))]


CONNECTION_LIMIT = "too many clients already"
"""PostgreSQL refusing a connection at `max_connections`: on this machine's shared server
other runs' databases can fill it for a moment. A tool that could not connect has
judged nothing, so it is asked again (a verdict, even a failing one, never is)."""


async def _run_json(command: list[str], env: Mapping[str, str],
                    attempts: int = 5) -> dict[str, Any]:
    done = await _run(command, env)
    for _ in range(attempts - 1):
        if CONNECTION_LIMIT not in done.stderr:
            break
        await asyncio.sleep(3)
        done = await _run(command, env)
    try:
        report = json.loads(done.stdout)
    except ValueError:
        return {"code": done.returncode, "output": (done.stdout + done.stderr)[-2000:]}
    return {**report, "code": done.returncode} if isinstance(report, dict) else {
        "code": done.returncode}


async def _run(command: list[str], env: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(subprocess.run, command, env=dict(env), capture_output=True,
                                   text=True, timeout=300, check=False)


def _command_id(state: bytes) -> str | None:
    try:
        value = json.loads(state).get("command_id")
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None
