"""The service layer: `access.events` records in, e-mails out, exactly once, through outages.

Two ways in, one way out:

- `handle_batch` (the Kafka consumer): parse the envelopes (skipping what is not ours),
  work out the e-mails, and insert them all into the sent-log in one round trip. Once
  that returns, the batch is durable and its offsets may be committed. The new rows are
  leased to this process and sent at once (the fast path), in the background, while
  the next batch is consumed (at most `max_inflight_batches` at a time).
- `run_retries` (a background loop): leases rows whose `next_attempt_at` has come (rows
  that failed transiently, were claimed while SMTP was down, or were left by a crashed
  instance), derives each e-mail again from the stored envelope, and sends it.

A crash can cut a send between the server taking the e-mail and us hearing so; the
sent-log is marked *handed over* in the instant the last byte leaves (`hand_over`), so such
an e-mail counts as sent and is not sent twice, and only outcomes that change what happens
next (retry, failed, or a send whose mark could not be stored) are waited for before the
next send. Each send ends `sent`, `failed` (5xx, a header hazard, or still transient after
`retry_give_up_seconds`: also published on `notifications.dlq`) or back in the queue
with an exponential, capped, jittered delay (4xx, connection errors). Outcomes are
written in one round trip per round. When the SMTP server itself is down (no
connection, 421), a breaker stops trying every e-mail: new rows are queued due, and the
retry loop probes with one e-mail at a time until the server answers again, then drains
the queue at full speed. Later events keep being consumed all along.

The collaborators are ports (`Mailer`, `DeadLetters`, `SentLogPort`) so unit tests use
fakes and `service` wires the real SMTP pool, Kafka and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol
from uuid import UUID

from pydantic import ValidationError

from events.access_events import EVENT_TYPES, UserForgotten
from events.envelope import EventEnvelope
from services.notifications.config import NotificationSettings
from services.notifications.message import (
    HeaderHazardError,
    Mailbox,
    OutgoingEmail,
    address,
    build_message,
    message_id,
    sender_address,
)
from services.notifications.outcomes import OutcomeWriter
from services.notifications.privacy import (
    Forgetting,
    RecipientKeys,
    addresses_in,
    people_in,
    pseudonymise,
    undeliverable,
)
from services.notifications.recipients import (
    MAILING_TYPES,
    Notification,
    UnknownEventError,
    notifications_for,
)
from services.notifications.render import Renderer
from services.notifications.sent_log import Claim, DueRow, Finished, Forgotten, QueueDepth
from services.notifications.smtp import PermanentSmtpError, TransientSmtpError

log = logging.getLogger(__name__)



class Mailer(Protocol):
    async def send(self, message: OutgoingEmail, handed_over: Callable[[], None]) -> None:
        """Deliver; raise TransientSmtpError or PermanentSmtpError. Call `handed_over` the
        instant the whole message is on its way to the server, before its answer."""


class HandOverPort(Protocol):
    async def ready(self) -> None: ...
    def mark(self, event_id: UUID, recipient: str) -> Awaitable[object]: ...
    async def close(self) -> None: ...


class DeadLetters(Protocol):
    async def publish(self, record: dict[str, Any], key: str) -> None:
        """Record an e-mail that can never be delivered, for people to look at."""


class SentLogPort(Protocol):
    async def claim(
        self,
        claims: Sequence[Claim],
        lease_seconds: float,
        links: Collection[tuple[UUID, str]] = (),
    ) -> set[tuple[UUID, str]]: ...
    async def lease_due(self, limit: int, lease_seconds: float) -> list[DueRow]: ...
    async def release(self, keys: Collection[tuple[UUID, str]]) -> None: ...
    async def finish(self, results: Sequence[Finished]) -> None: ...
    async def settle_handed_over(self) -> int: ...
    def hand_over_marks(self) -> HandOverPort: ...
    async def depth(self) -> QueueDepth: ...
    async def forgotten_among(
        self, user_ids: Collection[UUID], recipients: Collection[str]
    ) -> list[Forgetting]: ...
    async def forget(self, forgetting: Forgetting) -> Forgotten: ...


@dataclass
class Stats:
    """Counters for metrics and tests; cumulative over the process's life."""

    sent: int = 0
    failed: int = 0
    retried: int = 0
    """Transient failures put back in the queue."""
    dead_lettered: int = 0
    skipped_records: int = 0
    duplicates: int = 0
    """E-mails of redelivered events found in the sent-log already (or to people
    forgotten already)."""
    forgotten: int = 0
    """`UserForgotten` events handled."""
    rounds: int = 0
    settled_handed_over: int = 0
    """E-mails a stopped process had handed to the server, counted sent (not resent)."""


@dataclass
class SmtpHealth:
    """A breaker: after a server-level failure, probe with one e-mail at a time."""

    initial_seconds: float
    max_seconds: float
    up: bool = True
    probe_delay: float = 0.0
    next_probe: float = 0.0

    def trip(self) -> None:
        if self.up:
            log.warning("SMTP server unavailable: queueing e-mails and probing")
            self.up = False
            self.probe_delay = self.initial_seconds
            self.next_probe = time.monotonic() + self.probe_delay

    def probe_failed(self) -> None:
        self.up = False
        self.probe_delay = min(max(self.probe_delay, self.initial_seconds) * 2, self.max_seconds)
        self.next_probe = time.monotonic() + self.probe_delay

    def ok(self) -> None:
        if not self.up:
            log.info("SMTP server answers again: sending the queue")
        self.up = True

    def probe_due(self) -> bool:
        return time.monotonic() >= self.next_probe


@dataclass
class Outgoing:
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
class Deliverer:
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
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max(1, self.settings.max_inflight_batches))
        # One per pooled SMTP connection: a sender slot with its own connection for marks.
        self._senders: asyncio.Queue[HandOverPort] = asyncio.Queue()
        for _ in range(max(1, self.settings.smtp_connections)):
            self._senders.put_nowait(self.sent_log.hand_over_marks())
        self._tails: dict[str, asyncio.Future[None]] = {}
        self.keys = RecipientKeys(self.settings.common.token_secret)

    # -- the consumer's side -------------------------------------------------------

    async def handle_batch(self, values: Sequence[bytes | None]) -> None:
        """Claim every e-mail the records cause; returns once they are durable in the
        sent-log (then the offsets may be committed). The new ones are sent in the
        background; `drain` waits for that.

        `UserForgotten` records are applied after the batch's claims, so that rows the
        same batch created are scrubbed too; such a batch's e-mails are then left to the
        retry loop, which derives them from the scrubbed envelopes."""
        envelopes = [e for e in map(self._parse, values) if e is not None]
        forgets = [f for f in map(self._forgotten, envelopes) if f is not None]
        mailing = await self._without_forgotten(
            # unknown types too: `_outgoing_of` counts them skipped
            [e for e in envelopes if e.type in MAILING_TYPES or e.type not in EVENT_TYPES]
        )
        # A record delivered twice in one batch is claimed once and must be sent once.
        unique = {
            (o.claim.event_id, o.claim.recipient): o for e in mailing for o in self._outgoing_of(e)
        }
        links = self._links(envelopes)
        if not unique and not links and not forgets:
            return
        await self._slots.acquire()  # back-pressure: wait while earlier batches send
        try:
            up = self.health.up
            lease = self.settings.lease_seconds if up or forgets else 0.0
            claimed = await self.sent_log.claim([o.claim for o in unique.values()], lease, links)
            if forgets:
                for forgetting in forgets:
                    done = await self.sent_log.forget(forgetting)
                    log.info(
                        "forgot a user: %d e-mails to them emptied (%d unsent dropped), "
                        "%d naming them pseudonymised",
                        done.closed,
                        done.dropped,
                        done.rewritten,
                    )
                await self.sent_log.release(claimed)
        except BaseException:
            self._slots.release()
            raise
        self.stats.duplicates += len(unique) - len(claimed)
        self.stats.forgotten += len(forgets)
        if not up or not claimed or forgets:
            self._slots.release()  # queued due: the retry loop sends them
            return
        send_by = self._send_by()
        now = self.clock()
        attempts = [
            Attempt(key[0], key[1], unique[key], 0, now, send_by)
            for key in unique
            if key in claimed
        ]
        task = asyncio.create_task(self._fast_path(attempts, self._queue_turns(attempts)))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    def _parse(self, value: bytes | None) -> EventEnvelope | None:
        try:
            return EventEnvelope.model_validate_json(value or b"")
        except (ValidationError, ValueError) as error:
            self.stats.skipped_records += 1
            log.warning("skipping a record on access.events: %s", _brief(error))
            return None

    def _forgotten(self, envelope: EventEnvelope) -> Forgetting | None:
        if envelope.type != UserForgotten.__name__:
            return None
        try:
            event = UserForgotten.model_validate(envelope.data)
        except ValidationError as error:
            self.stats.skipped_records += 1
            log.warning("skipping a UserForgotten record: %s", _brief(error))
            return None
        return Forgetting(event.user_id, event.pseudonym_email, event.pseudonym_name)

    async def _without_forgotten(self, envelopes: list[EventEnvelope]) -> list[EventEnvelope]:
        """The envelopes with people forgotten already (events arriving late, from
        another partition or a re-reading consumer group) read as their pseudonyms."""
        user_ids: set[UUID] = set()
        recipients: set[str] = set()
        for envelope in envelopes:
            user_ids.update(p.user_id for p in people_in(envelope.data) if p.user_id)
            recipients.update(self.keys(a) for a in addresses_in(envelope.data))
        if not user_ids and not recipients:
            return envelopes
        forgotten = await self.sent_log.forgotten_among(user_ids, recipients)
        if not forgotten:
            return envelopes
        result = []
        for envelope in envelopes:
            data = envelope.data
            for forgetting in forgotten:
                data = pseudonymise(data, forgetting, self.keys)
            result.append(
                envelope if data == envelope.data else envelope.model_copy(update={"data": data})
            )
        return result

    def _links(self, envelopes: list[EventEnvelope]) -> set[tuple[UUID, str]]:
        """(account, address key) of every person the events show with both."""
        return {
            (p.user_id, self.keys(p.email))
            for envelope in envelopes
            for p in people_in(envelope.data)
            if p.user_id is not None and p.email is not None and not undeliverable(p.email)
        }

    async def _fast_path(self, attempts: list[Attempt], turns: list[Turn]) -> None:
        try:
            await self._round(attempts, turns)
        except Exception:
            # The rows stay leased and pending: the retry loop takes them after the lease.
            log.exception("sending %d e-mails failed; they will be retried", len(attempts))
        finally:
            for turn in turns:
                self._end_turn(turn)
            self._slots.release()

    async def drain(self) -> None:
        """Wait until the e-mails of every handled batch have been tried once."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def close(self) -> None:
        """Give back the senders' database connections (after `drain`)."""
        while not self._senders.empty():
            await self._senders.get_nowait().close()

    def _outgoing(self, value: bytes | None) -> list[Outgoing]:
        envelope = self._parse(value)
        return [] if envelope is None else self._outgoing_of(envelope)

    def _outgoing_of(self, envelope: EventEnvelope) -> list[Outgoing]:
        try:
            notifications = notifications_for(envelope)
        except (ValidationError, UnknownEventError, ValueError) as error:
            self.stats.skipped_records += 1
            log.warning("skipping a record on access.events: %s", _brief(error))
            return []
        stored = envelope.model_dump_json() if notifications else ""
        return [
            Outgoing(n, self._claim(n, envelope.type, stored, envelope.sequence))
            for n in notifications
        ]

    def _claim(
        self, notification: Notification, event_type: str, stored: str, sequence: int
    ) -> Claim:
        key = self.keys(notification.recipient)
        return Claim(
            sequence=sequence,
            event_id=notification.event_id,
            recipient=key,
            kind=notification.kind,
            event_type=event_type,
            message_id=message_id(notification.event_id, key),
            envelope=stored,
            user_id=notification.to.user_id,
        )

    # -- the retry loop ------------------------------------------------------------

    async def run_retries(self, stopping: asyncio.Event) -> None:
        """Send due rows until `stopping` is set."""
        while not stopping.is_set():
            try:
                leased = await self.retry_once()
            except Exception:
                log.exception("retry round failed; trying again shortly")
                leased = 0
            if leased == 0 or not self.health.up:
                wait = self.settings.retry_poll_seconds
                if not self.health.up:
                    wait = min(wait, max(0.0, self.health.next_probe - time.monotonic()))
                    wait = max(wait, 0.05)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), wait)

    async def retry_once(self) -> int:
        """One round: lease due rows (one, as a probe, while SMTP is down) and send them.
        Returns how many rows were leased."""
        probing = not self.health.up
        if probing and not self.health.probe_due():
            return 0
        limit = 1 if probing else self.settings.retry_batch
        settled = await self.sent_log.settle_handed_over()
        if settled:
            self.stats.settled_handed_over += settled
            log.warning(
                "%d e-mails were handed to the SMTP server by a process that stopped before "
                "its answer: counted as sent, not sent again",
                settled,
            )
        rows = await self.sent_log.lease_due(limit, self.settings.lease_seconds)
        if not rows:
            return 0
        send_by = self._send_by()
        await self._round(
            [
                Attempt(
                    r.event_id,
                    r.recipient,
                    self._derive(r),
                    r.attempts,
                    r.claimed_at,
                    send_by,
                    probe=probing,
                )
                for r in rows
            ]
        )
        return len(rows)

    def _derive(self, row: DueRow) -> Outgoing | None:
        """The e-mail of a queued row, derived again from its stored envelope."""
        for outgoing in self._outgoing(row.envelope.encode()):
            if outgoing.claim.recipient == row.recipient:
                return outgoing
        return None

    # -- sending ---------------------------------------------------------------------

    def _end_turn(self, turn: Turn) -> None:
        if not turn.done.done():
            turn.done.set_result(None)
        if self._tails.get(turn.recipient) is turn.done:
            del self._tails[turn.recipient]

    def _send_by(self) -> float:
        margin = self.settings.smtp_timeout_seconds + 5.0
        return time.monotonic() + max(self.settings.lease_seconds - margin, 1.0)

    def _queue_turns(self, attempts: list[Attempt]) -> list[Turn]:
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

    async def _round(self, attempts: list[Attempt], turns: list[Turn] | None = None) -> None:
        self.stats.rounds += 1
        turns = self._queue_turns(attempts) if turns is None else turns
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
                    self._end_turn(turn)

        workers = min(len(turns), max(1, self.settings.smtp_connections))
        try:
            await asyncio.gather(*(worker() for _ in range(workers)))
        finally:
            for turn in turns:  # also those no worker reached (cancelled)
                self._end_turn(turn)
            for failed in await asyncio.gather(*recording, return_exceptions=True):
                if failed is not None:
                    # Marked handed over: the row is settled as sent when its lease runs out.
                    log.error("recording sent e-mails failed: %r", failed)

    async def _attempt(self, attempt: Attempt) -> tuple[Finished | None, bool]:
        """Send one e-mail once: its outcome (None leaves the row as it is, leased, for
        later) and whether its hand-over mark is stored."""
        if attempt.outgoing is None:
            failed = await self._fail(attempt, "the stored event no longer yields this e-mail")
            return failed, False
        if not self.health.up and not attempt.probe:
            # Known down: queue it, untried, for the retry loop's probes and drain.
            return Finished(attempt.event_id, attempt.recipient, "retry", attempted=False), False
        marks = await self._senders.get()  # one per pooled connection: no stale sends
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
            self._senders.put_nowait(marks)

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
            marking.append(marks.mark(attempt.event_id, attempt.recipient))

        try:
            await self.mailer.send(message, handed_over)
        except TransientSmtpError as error:
            await self._stored(marking)  # before the retry outcome overwrites the mark
            return await self._transient(attempt, error), False
        except PermanentSmtpError as error:
            await self._stored(marking)
            self.health.ok()
            return await self._fail(attempt, str(error), error.code), False
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


def _brief(error: Exception) -> str:
    """A short reason for the log, without echoing the record (it may hold personal data)."""
    if isinstance(error, ValidationError):
        return json.dumps([{"loc": e["loc"], "type": e["type"]} for e in error.errors()])
    if isinstance(error, UnknownEventError):
        return f"unknown event type {str(error)[:100]!r}"
    return type(error).__name__
