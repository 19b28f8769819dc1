"""How delivery is doing: counters for `/metrics`, and the breaker that stops trying every
e-mail while the SMTP server is down."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


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
    marks_unconfirmed: int = 0
    """E-mails handed to the server whose hand-over mark was not confirmed stored: each
    is covered only by its outcome's write, so a kill before that sends it again."""
    smtp_failures: dict[str, int] = field(default_factory=dict)
    """Failed sends by reason (`smtp.pool.REASONS`: a refused login is `auth_refused`)."""


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
