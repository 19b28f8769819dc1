"""The notification service's settings: the shared ones plus what only mail needs.

Defaults suit this machine; every value can be set in the environment so `make run`,
the tests and compose configure it the same way.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from services.common.config import Settings


@dataclass(frozen=True)
class NotificationSettings:
    common: Settings = field(default_factory=Settings)
    mail_from: str = "charger-access <no-reply@charger-access.local>"
    smtp_connections: int = 8
    smtp_timeout_seconds: float = 30.0
    retry_initial_seconds: float = 0.5
    retry_max_seconds: float = 15.0
    retry_deadline_seconds: float = 240.0
    """How long one batch keeps retrying transient SMTP errors before it is handed back
    to Kafka (nacked) and fetched again; below the consumer's max poll interval (300 s)."""

    @classmethod
    def from_env(cls) -> NotificationSettings:
        env = os.environ
        return cls(
            common=Settings.from_env(),
            mail_from=env.get("MAIL_FROM", cls.mail_from),
            smtp_connections=int(env.get("SMTP_CONNECTIONS", str(cls.smtp_connections))),
        )

    @property
    def group_id(self) -> str:
        return f"{self.common.consumer_group_prefix}-notifications"
