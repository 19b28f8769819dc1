"""The notification service's settings: the shared ones plus what only mail needs.

Defaults suit this machine; every value can be set in the environment so `make run`,
the tests and compose configure it the same way.
"""

from __future__ import annotations

import socket
from typing import Self

from pydantic import Field, SecretBytes, field_validator, model_validator

from services.common.config import DEV_TOKEN_SECRET, Settings, refuse_development_secrets
from services.common.env_settings import EnvSettings
from services.common.errors import SettingError
from services.notifications.privacy import RecipientKeys
from services.notifications.smtp.security import SmtpSecurity


class NotificationSettings(EnvSettings):
    common: Settings = Field(default_factory=Settings)
    mail_from: str = "charger-access <no-reply@charger-access.local>"
    smtp_connections: int = Field(8, ge=1)
    smtp_timeout_seconds: float = Field(30.0, gt=0)
    smtp_starttls: str = "auto"
    """`SMTP_STARTTLS`: `auto` (STARTTLS whenever the server offers it) or `required`."""
    smtp_ca_file: str = ""
    """`SMTP_CA_FILE`: the CA of the SMTP server's certificate (empty: the system's)."""
    retry_initial_seconds: float = Field(1.0, gt=0)
    retry_max_seconds: float = Field(10.0, gt=0)
    """Backoff of transient SMTP failures: doubling from the first delay up to the cap
    (with jitter); also how often a down server is probed."""
    retry_give_up_seconds: float = Field(24 * 3600.0, gt=0)
    """An e-mail still not accepted this long after its event is failed and dead-lettered."""
    retry_poll_seconds: float = Field(0.5, gt=0)
    """How often the retry loop looks for due rows when it found none."""
    retry_batch: int = Field(500, ge=1)
    lease_seconds: float = Field(120.0, gt=0)
    """How long a sender owns a row it is about to send; another instance takes it over
    only after this (a crashed sender). Nothing is sent later than `lease_seconds -
    smtp_timeout_seconds` after leasing, so a lease never runs out mid-send."""
    max_inflight_batches: int = Field(2, ge=1)
    """Consumed batches whose e-mails may be sending while the next one is claimed."""
    http_port: int = Field(8001, validation_alias="NOTIFICATIONS_PORT")
    """`/metrics` and `/healthz` (env `NOTIFICATIONS_PORT`; 0: no HTTP server)."""
    recipient_key_secret: SecretBytes | None = None
    """`RECIPIENT_KEY_SECRET`: the secret the sent-log's recipient keys are derived from
    (`privacy.RecipientKeys`); unset, `TOKEN_SECRET`. Set it to the current
    `TOKEN_SECRET` before rotating that one, and the keys stay as they are: the
    e-mails of events redelivered across the rotation are still recognised as sent,
    and forgotten addresses still as forgotten."""
    instance: str = Field("", validation_alias="NOTIFICATIONS_INSTANCE")
    """This instance's name (env `NOTIFICATIONS_INSTANCE`, default the host name), the
    same across its restarts and unique among running instances: a restarted instance
    takes over at once the e-mails its predecessor had leased (`incarnation`)."""

    @field_validator("recipient_key_secret", mode="before")
    @classmethod
    def _unset_when_empty(cls, value: object) -> object:
        return None if value in ("", b"") else value

    def recipient_keys(self) -> RecipientKeys:
        secret = self.recipient_key_secret or self.common.token_secret
        return RecipientKeys(secret.get_secret_value())

    @classmethod
    def from_env(cls) -> Self:
        """As `Settings.from_env`: development secrets refused outside `APP_ENV=dev`."""
        settings = cls(common=Settings.from_env())
        secret = settings.recipient_key_secret
        refuse_development_secrets(settings.common.app_env, ["RECIPIENT_KEY_SECRET"] if (
            secret is not None and secret.get_secret_value() == DEV_TOKEN_SECRET.encode())
            else [])
        if settings.instance:
            return settings
        return settings.model_copy(update={"instance": socket.gethostname()})

    @field_validator("smtp_starttls", mode="before")
    @classmethod
    def _lower(cls, value: object) -> object:
        return (value.strip().lower() or "auto") if isinstance(value, str) else value

    @model_validator(mode="after")
    def _smtp_usable(self) -> NotificationSettings:
        self.smtp_security  # noqa: B018 - refuse a bad SMTP_URL / SMTP_STARTTLS at start
        if self.lease_seconds <= self.smtp_timeout_seconds:
            # A send may take the whole SMTP timeout: a shorter lease could run out
            # mid-send and let another instance send the same e-mail.
            raise SettingError(
                f"LEASE_SECONDS ({self.lease_seconds:g}) must be longer than "
                f"SMTP_TIMEOUT_SECONDS ({self.smtp_timeout_seconds:g})")
        return self

    @property
    def smtp_security(self) -> SmtpSecurity:
        return SmtpSecurity.from_settings(
            self.common.smtp_url.get_secret_value(), self.smtp_starttls, self.smtp_ca_file)

    @property
    def group_id(self) -> str:
        return f"{self.common.consumer_group_prefix}-notifications"
