"""The service layer: `access.events` records in, e-mails out, exactly once, through outages.

Two ways in, one way out:

- `handle_batch` (the Kafka consumer): parse the envelopes and work out the e-mails
  (`intake`: what is not ours is skipped), and insert them all into the sent-log in one
  round trip. Once that returns, the batch is durable and its offsets may be committed.
  The new rows are leased to this process and sent at once (the fast path), in the
  background, while the next batch is consumed (at most `max_inflight_batches` at a
  time).
- `run_retries` (a background loop): leases rows whose `next_attempt_at` has come (rows
  that failed transiently, were claimed while SMTP was down, or were left by a crashed
  instance), derives each e-mail again from the stored envelope, and sends it.

Both hand their e-mails to `sender.Sender`, passed in (rounds, outcomes, the hand-over
mark that keeps a crash from doubling an e-mail). When the SMTP server itself is down (no
connection, 421), a breaker (`health`) stops trying every e-mail: new rows are queued due,
and the retry loop probes with one e-mail at a time until the server answers again, then
drains the queue at full speed. Later events keep being consumed all along.

The collaborators are ports (`ports`) so unit tests use fakes and `service` wires the
real SMTP pool, Kafka and PostgreSQL.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from uuid import UUID

from charger_access_client.access_events import EVENT_TYPES
from charger_access_client.envelope import EventEnvelope
from services.common import fault_points
from services.common.timeouts import wait_for
from services.notifications.config import NotificationSettings
from services.notifications.delivery.attempts import Attempt, Outgoing, Turn
from services.notifications.delivery.health import SmtpHealth, Stats
from services.notifications.delivery.intake import Intake
from services.notifications.delivery.sender import Sender
from services.notifications.mail.recipients import (
    MAILING_TYPES,
)
from services.notifications.ports import DueRow, SentLogPort
from services.notifications.privacy import (
    Seen,
    pseudonymise,
    seen_in,
    undeliverable,
)

log = logging.getLogger(__name__)


@dataclass
class Deliverer:
    """Decides what to send and when; `sender` sends it (and owns the clock, the counters
    and the breaker both share)."""

    settings: NotificationSettings
    sent_log: SentLogPort
    sender: Sender

    def __post_init__(self) -> None:
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots = asyncio.Semaphore(max(1, self.settings.max_inflight_batches))
        self.keys = self.settings.recipient_keys()
        self.intake = Intake(self.keys, self.stats)

    @property
    def stats(self) -> Stats:
        return self.sender.stats

    @property
    def health(self) -> SmtpHealth:
        return self.sender.health

    # -- the consumer's side -------------------------------------------------------

    async def handle_batch(self, values: Sequence[bytes | None]) -> None:
        """Claim every e-mail the records cause; returns once they are durable in the
        sent-log (then the offsets may be committed). The new ones are sent in the
        background; `drain` waits for that.

        `UserForgotten` records are applied after the batch's claims, so that rows the
        same batch created are scrubbed too; such a batch's e-mails are then left to the
        retry loop, which derives them from the scrubbed envelopes."""
        envelopes = [e for e in map(self.intake.parse, values) if e is not None]
        forgets = [f for f in map(self.intake.forgotten, envelopes) if f is not None]
        seen = {id(e): seen_in(e.data) for e in envelopes}  # each event walked once
        mailing = await self._without_forgotten(
            # unknown types too: `intake.outgoing_of` counts them skipped
            [e for e in envelopes if e.type in MAILING_TYPES or e.type not in EVENT_TYPES],
            seen,
        )
        # A record delivered twice in one batch is claimed once and must be sent once.
        unique = {
            (o.claim.event_id, o.claim.recipient): o
            for e in mailing
            for o in self.intake.outgoing_of(e)
        }
        links = self._links(seen.values())
        if not unique and not links and not forgets:
            return
        await self._slots.acquire()  # back-pressure: wait while earlier batches send
        try:
            up = self.health.up
            lease = self.settings.lease_seconds if up or forgets else 0.0
            claimed = await self.sent_log.claim([o.claim for o in unique.values()], lease, links)
            fault_points.reached("notifications.after_claim")
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
        send_by = self.sender.send_by()
        now = self.sender.clock()
        attempts = [
            Attempt(key[0], key[1], unique[key], 0, now, send_by)
            for key in unique
            if key in claimed
        ]
        task = asyncio.create_task(self._fast_path(attempts, self.sender.turns.queue(attempts)))
        self._inflight.add(task)
        task.add_done_callback(self._inflight.discard)

    async def _without_forgotten(
        self, envelopes: list[EventEnvelope], seen: Mapping[int, Seen]
    ) -> list[EventEnvelope]:
        """The envelopes with people forgotten already (events arriving late, from
        another partition or a re-reading consumer group) read as their pseudonyms."""
        user_ids: set[UUID] = set()
        recipients: set[str] = set()
        for envelope in envelopes:
            found = seen[id(envelope)]
            user_ids.update(p.user_id for p in found.people if p.user_id)
            recipients.update(self.keys(a) for a in found.addresses)
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

    def _links(self, seen: Iterable[Seen]) -> set[tuple[UUID, str]]:
        """(account, address key) of every person the events show with both."""
        return {
            (p.user_id, self.keys(p.email))
            for found in seen
            for p in found.people
            if p.user_id is not None and p.email is not None and not undeliverable(p.email)
        }

    async def _fast_path(self, attempts: list[Attempt], turns: list[Turn]) -> None:
        try:
            await self.sender.round(attempts, turns)
        except Exception:
            # The rows stay leased and pending: the retry loop takes them after the lease.
            log.exception("sending %d e-mails failed; they will be retried", len(attempts))
        finally:
            for turn in turns:
                self.sender.turns.end(turn)
            self._slots.release()

    async def drain(self) -> None:
        """Wait until the e-mails of every handled batch have been tried once."""
        while self._inflight:
            await asyncio.gather(*list(self._inflight), return_exceptions=True)

    async def close(self) -> None:
        """Give back the senders' database connections (after `drain`)."""
        await self.sender.close()

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
                    await wait_for(stopping.wait(), wait)

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
                "recording its answer: counted as sent, not sent again",
                settled,
            )
        rows = await self.sent_log.lease_due(limit, self.settings.lease_seconds)
        if not rows:
            return 0
        send_by = self.sender.send_by()
        await self.sender.round(
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
        for outgoing in self.intake.outgoing(row.envelope.encode()):
            if outgoing.claim.recipient == row.recipient:
                return outgoing
        return None
