"""Sending a round of leased e-mails: one worker per SMTP connection, each recipient's
e-mails in event order (`attempts`), each send ending `sent`, or `failed` or back in the
queue as `failures` decides.

A crash can cut a send between the server taking the e-mail and us hearing so; the
sent-log is marked *handed over* in the instant the last byte leaves
(`sent_log.hand_over`), so such an e-mail counts as sent and is not sent twice, and only
outcomes that change what happens next (retry, failed, or a send whose mark could not be
stored) are waited for before the next send.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from opentelemetry.trace import Span, SpanKind

from services.common import tracing
from services.common.logs import about
from services.notifications.config import NotificationSettings
from services.notifications.delivery.attempts import Attempt, Outgoing, Turn, Turns
from services.notifications.delivery.failures import Failures
from services.notifications.delivery.health import SmtpHealth, Stats
from services.notifications.delivery.outcomes import OutcomeWriter
from services.notifications.latency import SEND_SECONDS
from services.notifications.mail.message import (
    HeaderHazardError,
    Mailbox,
    OutgoingEmail,
    address,
    build_message,
    sender_address,
)
from services.notifications.mail.render import Renderer
from services.notifications.ports import (
    DeadLetters,
    Finished,
    HandOverPort,
    Mailer,
    SentLogPort,
)
from services.notifications.smtp.pool import PermanentSmtpError, TransientSmtpError
from services.notifications.traces import EVENT_TRACES

log = logging.getLogger(__name__)


@dataclass
class Sender:
    """Sends rounds of leased e-mails and records what became of each; `Deliverer` decides
    which rows go into a round. Owns the clock, counters and breaker both read."""

    settings: NotificationSettings
    renderer: Renderer
    sent_log: SentLogPort
    mailer: Mailer
    dead_letters: DeadLetters
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    stats: Stats = field(default_factory=Stats)

    def __post_init__(self) -> None:
        self._sender: Mailbox = sender_address(self.settings.mail_from)
        self.health = SmtpHealth(
            self.settings.retry_initial_seconds, self.settings.retry_max_seconds
        )
        # One per pooled SMTP connection, with its own database connection for marks.
        self._connections: asyncio.Queue[HandOverPort] = asyncio.Queue()
        for _ in range(max(1, self.settings.smtp_connections)):
            self._connections.put_nowait(self.sent_log.hand_over_marks())
        self.turns = Turns()
        self.failures = Failures(self.settings, self.dead_letters, self.health, self.stats,
                                 self._now)

    def _now(self) -> datetime:
        """The clock as it is at each call: a test may set another after construction."""
        return self.clock()

    async def close(self) -> None:
        """Give back the senders' database connections (once nothing is sending)."""
        while not self._connections.empty():
            await self._connections.get_nowait().close()

    def send_by(self) -> float:
        margin = self.settings.smtp_timeout_seconds + 5.0
        return time.monotonic() + max(self.settings.lease_seconds - margin, 1.0)

    async def round(self, attempts: list[Attempt], turns: list[Turn] | None = None) -> None:
        self.stats.rounds += 1
        turns = self.turns.queue(attempts) if turns is None else turns
        pending = iter(turns)
        outcomes = OutcomeWriter(self.sent_log.finish)
        recording: list[asyncio.Future[None]] = []

        async def worker() -> None:
            # One worker per pooled connection rather than a task per e-mail. A send whose
            # hand-over mark is stored cannot go twice, so its "sent" is recorded in the
            # background; any other outcome is stored before the next send.
            for turn in pending:
                try:
                    if turn.after is not None:
                        await asyncio.shield(turn.after)
                    for attempt in turn.attempts:
                        result, marked = await self._attempt(attempt)
                        if result is None:
                            continue
                        if marked and result.outcome == "sent":
                            recording.append(outcomes.submit(result, hold=True))
                        else:
                            await outcomes.record(result)
                finally:
                    self.turns.end(turn)

        workers = min(len(turns), max(1, self.settings.smtp_connections))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            for turn in turns:  # also those no worker reached (cancelled)
                self.turns.end(turn)
            outcomes.flush()
            for failed in await asyncio.gather(*recording, return_exceptions=True):
                if failed is not None:
                    # Marked handed over: the row is settled as sent when its lease runs out.
                    log.error("recording sent e-mails failed: %r", failed)

    async def _attempt(self, attempt: Attempt) -> tuple[Finished | None, bool]:
        with about(event_id=str(attempt.event_id)):  # on every line logged about this send
            return await self._attempt_once(attempt)

    async def _attempt_once(self, attempt: Attempt) -> tuple[Finished | None, bool]:
        """Send one e-mail once: its outcome (None leaves the row as it is, leased, for
        later) and whether its hand-over mark is stored."""
        if attempt.outgoing is None:
            gone = "the stored event no longer yields this e-mail"
            failed = await self.failures.fail(attempt, gone)
            return failed, False
        if not self.health.up and not attempt.probe:
            # Known down: queue it, untried, for the retry loop's probes and drain.
            return Finished(attempt.event_id, attempt.recipient, "retry", attempted=False), False
        marks = await self._connections.get()  # one per pooled connection: no stale sends
        try:
            if not self.health.up and not attempt.probe:
                untried = Finished(attempt.event_id, attempt.recipient, "retry", attempted=False)
                return untried, False
            if time.monotonic() > attempt.send_by:
                return None, False
            try:
                await marks.ready()
            except Exception:
                # No way to mark it: don't send what a crash could send twice.
                log.exception("no database connection for hand-over marks; sending later")
                return None, False
            return await self._send(attempt, attempt.outgoing, marks)
        finally:
            self._connections.put_nowait(marks)

    async def _send(
        self, attempt: Attempt, outgoing: Outgoing, marks: HandOverPort
    ) -> tuple[Finished | None, bool]:
        try:
            message = self._message(outgoing)
        except HeaderHazardError as error:
            reason = f"refused to build the message: {error}"
            return await self.failures.fail(attempt, reason, tried=False), False
        marking: list[Awaitable[object] | None] = []

        def handed_over() -> None:
            marking.append(None)  # handed over, its mark not written (yet)
            try:
                marking[0] = marks.mark(attempt.event_id, attempt.recipient)
            except Exception:  # not marked: the outcome is then stored before the next send
                log.exception("could not write a hand-over mark")

        started = time.perf_counter()
        span = _send_span(attempt) if tracing.enabled() else None
        try:
            await self.mailer.send(message, handed_over)
        except (TransientSmtpError, PermanentSmtpError) as error:
            SEND_SECONDS.observe(time.perf_counter() - started)
            if span is not None:
                span.set_attribute("smtp.failure", error.reason)
                span.end()
            failures = self.stats.smtp_failures
            failures[error.reason] = failures.get(error.reason, 0) + 1
            # The server did not take it. Wait for the mark, if any, so the outcome below
            # overwrites it, never the other way round.
            marked = await self._stored(marking)
            if isinstance(error, TransientSmtpError):
                outcome = await self.failures.transient(attempt, error)
            else:
                self.health.ok()
                outcome = await self.failures.fail(attempt, str(error), error.code)
            if outcome is None and marked:
                # Not dead-lettered yet, and a mark left alone would count it sent.
                outcome = Finished(
                    attempt.event_id,
                    attempt.recipient,
                    "retry",
                    f"not recorded failed yet: {error}"[:500],
                    self.settings.retry_initial_seconds,
                )
            return outcome, False
        SEND_SECONDS.observe(time.perf_counter() - started)
        if span is not None:
            span.end()
        self.health.ok()
        self.stats.sent += 1
        return Finished(attempt.event_id, attempt.recipient, "sent"), await self._stored(marking)

    async def _stored(self, marking: list[Awaitable[object] | None]) -> bool:
        """Whether the hand-over mark (if the e-mail was handed over) is stored; one
        handed over without it is counted (`Stats.marks_unconfirmed`)."""
        if not marking:
            return False
        mark = marking[0]
        if mark is not None:
            try:
                await mark
            except Exception:
                log.exception("storing a hand-over mark failed")
            else:
                return True
        self.stats.marks_unconfirmed += 1
        return False

    def _message(self, outgoing: Outgoing) -> OutgoingEmail:
        notification = outgoing.notification
        rendered = self.renderer.render(notification)
        return build_message(
            rendered,
            sender=self._sender,
            to=address(notification.to.email, notification.to.name),
            msg_id=outgoing.claim.message_id,
            date=self.clock(),
            locale=notification.to.locale,
        )


def _send_span(attempt: Attempt) -> Span | None:
    """The send as a span of its event's trace (when the record brought one)."""
    event_id = str(attempt.event_id)
    span = tracing.start("notifications.email send", EVENT_TRACES.get(event_id),
                         kind=SpanKind.CLIENT)
    if span is not None:
        span.set_attribute("event.id", event_id)
    return span
