"""The notification service's settings: the shared ones plus what only mail needs.

Defaults suit this machine; every value can be set in the environment so `make run`,
the tests and compose configure it the same way.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field

from services.common.config import Settings
from services.notifications.smtp.security import SmtpSecurity


@dataclass(frozen=True)
class NotificationSettings:
    common: Settings = field(default_factory=Settings)
    mail_from: str = "charger-access <no-reply@charger-access.local>"
    smtp_connections: int = 8
    smtp_timeout_seconds: float = 30.0
    smtp_starttls: str = "auto"
    """`SMTP_STARTTLS`: `auto` (STARTTLS whenever the server offers it) or `required`."""
    smtp_ca_file: str = ""
    """`SMTP_CA_FILE`: the CA of the SMTP server's certificate (empty: the system's)."""
    retry_initial_seconds: float = 1.0
    retry_max_seconds: float = 10.0
    """Backoff of transient SMTP failures: doubling from the first delay up to the cap
    (with jitter); also how often a down server is probed."""
    retry_give_up_seconds: float = 24 * 3600.0
    """An e-mail still not accepted this long after its event is failed and dead-lettered."""
    retry_poll_seconds: float = 0.5
    """How often the retry loop looks for due rows when it found none."""
    retry_batch: int = 500
    lease_seconds: float = 120.0
    """How long a sender owns a row it is about to send; another instance takes it over
    only after this (a crashed sender). Nothing is sent later than `lease_seconds -
    smtp_timeout_seconds` after leasing, so a lease never runs out mid-send."""
    max_inflight_batches: int = 2
    """Consumed batches whose e-mails may be sending while the next one is claimed."""
    http_port: int = 8001
    """`/metrics` and `/healthz` (env `NOTIFICATIONS_PORT`; 0: no HTTP server)."""
    instance: str = ""
    """This instance's name (env `NOTIFICATIONS_INSTANCE`, default the host name), the
    same across its restarts and unique among running instances: a restarted instance
    takes over at once the e-mails its predecessor had leased (`incarnation`)."""

    @classmethod
    def from_env(cls) -> NotificationSettings:
        env = os.environ
        return cls(
            common=Settings.from_env(),
            mail_from=env.get("MAIL_FROM", cls.mail_from),
            smtp_connections=int(env.get("SMTP_CONNECTIONS", str(cls.smtp_connections))),
            smtp_starttls=env.get("SMTP_STARTTLS", cls.smtp_starttls),
            smtp_ca_file=env.get("SMTP_CA_FILE", cls.smtp_ca_file),
            smtp_timeout_seconds=float(
                env.get("SMTP_TIMEOUT_SECONDS", str(cls.smtp_timeout_seconds))),
            retry_initial_seconds=float(
                env.get("SMTP_RETRY_INITIAL_SECONDS", str(cls.retry_initial_seconds))),
            retry_max_seconds=float(
                env.get("SMTP_RETRY_MAX_SECONDS", str(cls.retry_max_seconds))),
            lease_seconds=float(env.get("NOTIFICATIONS_LEASE_SECONDS", str(cls.lease_seconds))),
            http_port=int(env.get("NOTIFICATIONS_PORT", str(cls.http_port))),
            instance=env.get("NOTIFICATIONS_INSTANCE") or socket.gethostname(),
        )

    def __post_init__(self) -> None:
        self.smtp_security  # noqa: B018 - refuse a bad SMTP_URL / SMTP_STARTTLS at start

    @property
    def smtp_security(self) -> SmtpSecurity:
        return SmtpSecurity.from_settings(
            self.common.smtp_url, self.smtp_starttls, self.smtp_ca_file)

    @property
    def group_id(self) -> str:
        return f"{self.common.consumer_group_prefix}-notifications"
