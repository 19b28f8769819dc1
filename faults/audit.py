"""Reading the system's state back to balance the books: the store, the relay's and the
projection's positions, the read model against a fresh rebuild, the e-mails SPEC says
the accepted commands cause (`faults.spec_mail`) against those the sink received.

`converge()` waits (bounded) until everything downstream has caught up with the store;
`conserve()` then runs the checks of `faults.conservation` and fills in the figures.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from faults.conservation import (
    Ledger,
    check_emails,
    check_events,
    check_results,
    check_store,
    reordered_by_resend,
)
from faults.report import Figures
from faults.spec_mail import Mail, command_of, expected_mail, received_mail
from faults.system import BIN, System
from faults.traffic import Traffic
from services.access.eventlog.reader import EventLog
from services.access.projection.apply import read_position


@dataclass
class Published:
    """The store's published events read so far (incrementally)."""

    after: int = 0
    event_ids: set[str] = field(default_factory=set)

    async def catch_up(self, conn: Any, log: EventLog) -> None:
        while True:
            batch = await log.read(conn, self.after, 5000)
            if not batch:
                return
            for event in batch:
                self.event_ids.add(str(event.envelope.id))
            self.after = batch[-1].position


@dataclass
class State:
    last_published: int
    relay: int
    projection: int


class Auditor:
    def __init__(self, system: System, traffic: Traffic) -> None:
        self.system = system
        self.traffic = traffic
        self.log = EventLog()
        self.published = Published()

    async def state(self) -> State:
        conn = await self.system.connect()
        try:
            await self.published.catch_up(conn, self.log)
            relay = await conn.fetchval(
                "SELECT coalesce(max(position), 0) FROM relay_tracking") or 0
            return State(await self.log.last_published(conn), int(relay),
                         await read_position(conn))
        finally:
            await conn.close()

    async def converge(self, within: float, emails: bool = True) -> float | None:
        """Seconds until every count balanced; None when `within` ran out first."""
        started = time.monotonic()
        while time.monotonic() - started < within:
            try:
                state = await self.state()
            except Exception:  # the database may be coming back (a restart scenario)
                await asyncio.sleep(1)
                continue
            want, _ = self.expected_mail()
            done = (not self.traffic.unanswered()
                    and state.relay >= state.last_published
                    and state.projection >= state.last_published
                    and self.published.event_ids <= set(self.traffic.wire.events)
                    and (not emails or _all_arrived(want, self.received_mail())))
            if done:
                return time.monotonic() - started
            await asyncio.sleep(1)
        return None

    async def conserve(self, figures: Figures, emails: bool = True,
                       rebuild: bool = True) -> Ledger:
        """Run every stage of the check; adds lost/duplicates/redeliveries to `figures`."""
        ledger = Ledger()
        conn = await self.system.connect()
        try:
            await self.published.catch_up(conn, self.log)
            stored = {row["command_id"]: json.loads(row["outcome"]) for row in await conn.fetch(
                "SELECT command_id, outcome::text AS outcome FROM command_results")}
            rows = await conn.fetch("SELECT xmin::text AS xid, state FROM chargeraccess_events")
            state = await self.state()
        finally:
            await conn.close()
        acked = self.traffic.acked_ids()
        expected = {cid: s.expect for cid, s in self.traffic.sent.items() if s.expect}
        reordered = reordered_by_resend(
            self.traffic.units().values(),
            {cid: s.attempts for cid, s in self.traffic.sent.items()},
            self.traffic.wire.first_result,
            {cid: str(json.loads(v[0])["status"]) for cid, v in self.traffic.wire.results.items()})
        statuses = check_results(ledger, acked, self.traffic.wire.results, stored, expected,
                                 reordered)
        check_store(ledger, statuses, ((_command_id(r["state"]), int(r["xid"])) for r in rows))
        check_events(ledger, self.published.event_ids, self.traffic.wire.events)
        if emails:
            want, unmodelled = self.expected_mail()
            check_emails(ledger, want, self.received_mail())
            ledger.counts["emails_unmodelled"] = unmodelled
            figures.checks["every accepted command's e-mails modelled"] = unmodelled == 0
        figures.commands = len(acked)
        figures.lost += ledger.total("lost")
        figures.duplicates += ledger.total("duplicates")
        figures.redeliveries += ledger.total("redeliveries")
        figures.checks["all commands answered as expected"] = not ledger.counts.get(
            "unexpected_status", 0)
        if explained := ledger.counts.get("reordered_by_resend", 0):
            figures.notes.append(
                f"{explained} command(s) answered otherwise than the scenario expected, each "
                "after an earlier command of its unit had to be resent and was answered after "
                "it (or after such a command was rejected): reordered by resend (the system "
                "judged them on the state they found), not failures")
        figures.checks["relay and projection at the store's head"] = (
            state.relay >= state.last_published and state.projection >= state.last_published)
        if rebuild:
            figures.checks["read model == fresh rebuild"] = await self.rebuild_check(figures)
        figures.details["ledger"] = ledger.as_json()
        figures.details["positions"] = vars(state)
        return ledger

    def expected_mail(self) -> tuple[Counter[Mail], int]:
        """What SPEC says the commands sent cause, by their results seen on the wire."""
        commands = []
        for command_id, sent in self.traffic.sent.items():
            copies = self.traffic.wire.results.get(command_id)
            status = str(json.loads(copies[0])["status"]) if copies else None
            command = command_of(sent.value, sent.headers, status)
            if command is not None:
                commands.append(command)
        return expected_mail(commands)

    def received_mail(self) -> Counter[Mail]:
        return received_mail(self.system.sink.messages)

    async def rebuild_check(self, figures: Figures) -> bool:
        done = await asyncio.to_thread(
            subprocess.run, [str(BIN / "access-rebuild"), "--check", "--json"],
            env=self.system.env, capture_output=True, text=True, timeout=300, check=False)
        try:
            report = json.loads(done.stdout)
        except ValueError:
            figures.details["rebuild"] = (done.stdout + done.stderr)[-2000:]
            return False
        figures.details["rebuild"] = {
            "ok": report.get("ok"), "position": report.get("position"),
            "rows": {t["table"]: t.get("live_rows") for t in report.get("tables", [])}}
        return bool(done.returncode == 0 and report.get("ok") is True)


def _all_arrived(want: Counter[Mail], got: Counter[Mail]) -> bool:
    return all(got.get(key, 0) >= n for key, n in want.items())


def _command_id(state: bytes) -> str | None:
    try:
        value = json.loads(state).get("command_id")
    except (ValueError, AttributeError):
        return None
    return str(value) if value else None
