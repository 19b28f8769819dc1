"""Sending a round of leased e-mails: one worker per SMTP connection, e-mails to one
person in event order, each send ending `sent`, `failed` (5xx, a header hazard, or still
transient after `retry_give_up_seconds`: also published on `notifications.dlq`) or back
in the queue with an exponential, capped, jittered delay (4xx, connection errors).

A crash can cut a send between the server taking the e-mail and us hearing so; the
sent-log is marked *handed over* in the instant the last byte leaves (`sent_log.hand_over`), so such
an e-mail counts as sent and is not sent twice, and only outcomes that change what happens
next (retry, failed, or a send whose mark could not be stored) are waited for before the
next send.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from uuid import UUID

from opentelemetry.trace import Span, SpanKind

from services.common import tracing
from services.common.logs import about
from services.notifications.config import NotificationSettings
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
from services.notifications.mail.recipients import Notification
from services.notifications.mail.render import Renderer
from services.notifications.ports import (
    Claim,
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
class Outgoing:
    """An e-mail to send and its sent-log row."""

    notification: Notification
    claim: Claim


@dataclass
class Attempt:
    """One leased row to send in this round."""

    event_id: UUID
    recipient: str
    outgoing: Outgoing | None
    attempts_before: int
    claimed_at: datetime
    send_by: float
    """monotonic deadline: past it the lease may run out before the send ends, so skip."""
    probe: bool = False


@dataclass
class Turn:
    """One recipient's e-mails in a round, sent in order once `after` is done."""

    recipient: str
    attempts: list[Attempt]
    after: asyncio.Future[None] | None
    done: asyncio.Future[None]


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
        self._tails: dict[str, asyncio.Future[None]] = {}

    async def close(self) -> None:
        """Give back the senders' database connections (once nothing is sending)."""
        while not self._connections.empty():
            await self._connections.get_nowait().close()

    def end_turn(self, turn: Turn) -> None:
        if not turn.done.done():
            turn.done.set_result(None)
        if self._tails.get(turn.recipient) is turn.done:
            del self._tails[turn.recipient]

    def send_by(self) -> float:
        margin = self.settings.smtp_timeout_seconds + 5.0
        return time.monotonic() + max(self.settings.lease_seconds - margin, 1.0)

    def queue_turns(self, attempts: list[Attempt]) -> list[Turn]:
        """Group a round by recipient, in event order, each group after any earlier
        round's group for the same person (a reminder must not overtake a withdrawal).
        Synchronous, so rounds queue up in the order they were created."""
        groups: dict[str, list[Attempt]] = {}
        for attempt in attempts:
            groups.setdefault(attempt.recipient, []).append(attempt)
        loop = asyncio.get_running_loop()
        turns = []
        for recipient, group in groups.items():
            group.sort(key=lambda a: a.outgoing.claim.sequence if a.outgoing else 0)
            turn = Turn(recipient, group, self._tails.get(recipient), loop.create_future())
            self._tails[recipient] = turn.done
            turns.append(turn)
        return turns

    async def round(self, attempts: list[Attempt], turns: list[Turn] | None = None) -> None:
        self.stats.rounds += 1
        turns = self.queue_turns(attempts) if turns is None else turns
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
                            recording.append(outcomes.submit(result))
                        else:
                            await outcomes.record(result)
                finally:
                    self.end_turn(turn)

        workers = min(len(turns), max(1, self.settings.smtp_connections))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            for turn in turns:  # also those no worker reached (cancelled)
                self.end_turn(turn)
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
            failed = await self._fail(attempt, "the stored event no longer yields this e-mail")
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
            return await self._fail(attempt, reason, tried=False), False
        marking: list[Awaitable[object]] = []

        def handed_over() -> None:
            try:
                marking.append(marks.mark(attempt.event_id, attempt.recipient))
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
                outcome = await self._transient(attempt, error)
            else:
                self.health.ok()
                outcome = await self._fail(attempt, str(error), error.code)
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

    @staticmethod
    async def _stored(marking: list[Awaitable[object]]) -> bool:
        """Whether the hand-over mark (if one was written) is stored."""
        if not marking:
            return False
        try:
            await marking[0]
        except Exception:
            log.exception("storing a hand-over mark failed")
            return False
        return True

    async def _transient(self, attempt: Attempt, error: TransientSmtpError) -> Finished | None:
        if not error.server_down:
            self.health.ok()  # it answered: this e-mail is deferred, the server is up
        elif attempt.probe:
            self.health.probe_failed()
        else:
            self.health.trip()
        attempts = attempt.attempts_before + 1
        age = (self.clock() - attempt.claimed_at).total_seconds()
        if age >= self.settings.retry_give_up_seconds:
            return await self._fail(
                attempt, f"still failing after {age:.0f} s: {error}", error.code
            )
        delay = min(
            self.settings.retry_initial_seconds * 2 ** (attempts - 1),
            self.settings.retry_max_seconds,
        ) * random.uniform(0.8, 1.2)
        if error.server_down and not attempt.probe:
            delay = 0.0  # the breaker paces it: due again as soon as the server answers
        self.stats.retried += 1
        log.warning(
            "transient SMTP failure for %s (attempt %d), retrying in %.1fs: %s",
            attempt.outgoing.claim.message_id if attempt.outgoing else attempt.event_id,
            attempts,
            delay,
            error,
        )
        return Finished(attempt.event_id, attempt.recipient, "retry", str(error)[:500], delay)

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

    async def _fail(
        self, attempt: Attempt, error: str, code: int | None = None, *, tried: bool = True
    ) -> Finished | None:
        """Dead-letter first, then record: if the publish fails the row stays leased and
        is tried again later, so a failure is never recorded without its DLQ record."""
        claim = attempt.outgoing.claim if attempt.outgoing else None
        address = attempt.outgoing.notification.recipient if attempt.outgoing else None
        log.error(
            "e-mail %s (%s) failed for good: %s",
            claim.message_id if claim else attempt.event_id,
            claim.kind if claim else "?",
            error,
        )
        record = {
            "event_id": str(attempt.event_id),
            "event_type": claim.event_type if claim else None,
            "kind": claim.kind if claim else None,
            "recipient": address,
            "recipient_key": attempt.recipient,
            "message_id": claim.message_id if claim else None,
            "code": code,
            "error": error[:1000],
            "attempts": attempt.attempts_before + int(tried),
            "failed_at": self.clock().isoformat(),
        }
        try:
            await self.dead_letters.publish(record, key=str(attempt.event_id))
        except Exception:
            log.exception("could not publish on the dead-letter topic; will try again")
            return None
        self.stats.failed += 1
        self.stats.dead_lettered += 1
        return Finished(
            attempt.event_id, attempt.recipient, "failed", error[:1000], attempted=tried
        )


def _send_span(attempt: Attempt) -> Span | None:
    """The send as a span of its event's trace (when the record brought one)."""
    event_id = str(attempt.event_id)
    span = tracing.start("notifications.email send", EVENT_TRACES.get(event_id),
                         kind=SpanKind.CLIENT)
    if span is not None:
        span.set_attribute("event.id", event_id)
    return span
