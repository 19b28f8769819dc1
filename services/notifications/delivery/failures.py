"""What becomes of a send that did not go: tried again later with a backoff, or failed
for good and dead-lettered on `notifications.dlq`.

A transient failure (4xx, a connection error) is retried after an exponential, capped,
jittered delay until it is `retry_give_up_seconds` old; a server that is down trips the
breaker instead, which paces the retries. A permanent one (5xx, a header hazard, an event
that no longer yields the e-mail) is published on the dead-letter topic *before* the row
is recorded failed: if the publish fails the row stays leased and is tried again, so a
failure is never recorded without its DLQ record.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from services.notifications.config import NotificationSettings
from services.notifications.delivery.attempts import Attempt
from services.notifications.delivery.health import SmtpHealth, Stats
from services.notifications.ports import DeadLetters, Finished
from services.notifications.smtp.pool import TransientSmtpError

log = logging.getLogger(__name__)


@dataclass
class Failures:
    """Decides a failed send's outcome; the breaker and counters are the sender's."""

    settings: NotificationSettings
    dead_letters: DeadLetters
    health: SmtpHealth
    stats: Stats
    clock: Callable[[], datetime]

    async def transient(self, attempt: Attempt, error: TransientSmtpError) -> Finished | None:
        """A retry after the backoff's delay, or failed once the e-mail is too old."""
        if not error.server_down:
            self.health.ok()  # it answered: this e-mail is deferred, the server is up
        elif attempt.probe:
            self.health.probe_failed()
        else:
            self.health.trip()
        attempts = attempt.attempts_before + 1
        age = (self.clock() - attempt.claimed_at).total_seconds()
        if age >= self.settings.retry_give_up_seconds:
            return await self.fail(
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

    async def fail(
        self, attempt: Attempt, error: str, code: int | None = None, *, tried: bool = True
    ) -> Finished | None:
        """Failed for good, once dead-lettered (None: the publish failed, try later)."""
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
