"""The gateway's settings: the shared ones plus the WebSocket server's.

Every value comes from the environment so `make run`, the tests and compose configure it
the same way (README "Configuration"); a bad value stops the gateway with one line
naming its variable, as in the other services (`services/common/env_settings.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretBytes, field_validator, model_validator
from pydantic_settings import NoDecode, SettingsConfigDict

from services.common.config import Settings, comma_separated
from services.common.env_settings import EnvSettings
from services.common.errors import SettingError
from services.ocpp_gateway.credentials import ChargerPasswords

MIN_AUTH_SECRET_BYTES = 32


class GatewaySettings(EnvSettings):
    model_config = SettingsConfigDict(env_prefix="OCPP_", frozen=True, validate_by_name=True,
                                      env_ignore_empty=True, extra="ignore")

    common: Settings = Field(default_factory=Settings)
    port: int = Field(9000, ge=0, le=65535)
    """`OCPP_PORT`: OCPP-J, `/healthz` and `/metrics` on one port."""
    host: str = "0.0.0.0"  # noqa: S104 - chargers connect from outside the container
    heartbeat_seconds: int = Field(300, ge=1)
    """`OCPP_HEARTBEAT_SECONDS`: the interval a BootNotification is answered with."""
    max_frame_bytes: int = Field(64 * 1024, ge=1024)
    """`OCPP_MAX_FRAME_BYTES`: a bigger frame closes that connection (1009), nothing else.
    The largest message a charger sends us (a BootNotification, an Authorize) is < 2 KiB."""
    call_timeout_seconds: float = Field(30.0, gt=0)
    """`OCPP_CALL_TIMEOUT_SECONDS`: how long a charger may take to answer our call."""
    recheck_seconds: float = Field(60.0, gt=0)
    """`OCPP_RECHECK_SECONDS`: how often a quiet charger's version is compared with the read
    model's (the safety net for changes the topic never brought)."""
    security_profile: int = Field(0, ge=0, le=2)
    """`OCPP_SECURITY_PROFILE`: OCPP's security profile. 0: no charger password (SPEC's
    contract, for development and closed networks); 1: HTTP Basic authentication with each
    charger's password (`credentials`); 2: the same over TLS (`wss://`)."""
    auth_secret: SecretBytes | None = None
    """`OCPP_AUTH_SECRET`: what the chargers' passwords derive from (profiles 1 and 2;
    at least 32 bytes)."""
    auth_secret_previous: Annotated[tuple[SecretBytes, ...], NoDecode] = ()
    """`OCPP_AUTH_SECRET_PREVIOUS` (comma-separated): secrets `OCPP_AUTH_SECRET` replaced,
    whose chargers' passwords are still accepted until they are given new ones."""
    renew_passwords: bool = True
    """`OCPP_RENEW_PASSWORDS`: under profile 2, a charger that logs in with a password of
    `OCPP_AUTH_SECRET_PREVIOUS` is sent its current one (`password_renewal`)."""
    tls_cert_file: str = ""
    tls_key_file: str = ""
    """`OCPP_TLS_CERT_FILE` / `OCPP_TLS_KEY_FILE`: the gateway's certificate chain and key
    (PEM), profile 2."""

    @field_validator("auth_secret_previous", mode="before")
    @classmethod
    def _comma_separated(cls, value: object) -> object:
        return comma_separated(value)

    @model_validator(mode="after")
    def _refuse_what_cannot_work(self) -> GatewaySettings:
        secrets = ([self.auth_secret] if self.auth_secret else []) + list(
            self.auth_secret_previous)
        if self.security_profile == 0:
            if secrets or self.tls_cert_file or self.tls_key_file:
                raise SettingError(
                    "OCPP_AUTH_SECRET, OCPP_AUTH_SECRET_PREVIOUS and OCPP_TLS_* need "
                    "OCPP_SECURITY_PROFILE 1 or 2; with 0 chargers would connect without them")
            return self
        if self.auth_secret is None:
            raise SettingError(f"OCPP_SECURITY_PROFILE={self.security_profile} needs "
                               "OCPP_AUTH_SECRET, which the chargers' passwords derive from")
        if any(len(s.get_secret_value()) < MIN_AUTH_SECRET_BYTES for s in secrets):
            raise SettingError(f"OCPP_AUTH_SECRET and OCPP_AUTH_SECRET_PREVIOUS must each be "
                               f"at least {MIN_AUTH_SECRET_BYTES} bytes")
        if self.security_profile == 2:
            for name, path in (("OCPP_TLS_CERT_FILE", self.tls_cert_file),
                               ("OCPP_TLS_KEY_FILE", self.tls_key_file)):
                if not path or not Path(path).is_file():
                    raise SettingError(f"OCPP_SECURITY_PROFILE=2 needs {name}, a readable PEM "
                                       f"file{f' (not found: {path})' if path else ''}")
        elif self.tls_cert_file or self.tls_key_file:
            raise SettingError("OCPP_TLS_CERT_FILE and OCPP_TLS_KEY_FILE need "
                               "OCPP_SECURITY_PROFILE=2")
        return self

    def passwords(self) -> ChargerPasswords | None:
        """The chargers' passwords under profile 1 or 2; None under profile 0."""
        if self.security_profile == 0 or self.auth_secret is None:
            return None
        return ChargerPasswords(self.auth_secret.get_secret_value(),
                                [s.get_secret_value() for s in self.auth_secret_previous])

    def renews_passwords(self) -> bool:
        """Chargers on a replaced secret's password are given their current one: over TLS
        only (profile 2), never in clear (profile 1)."""
        return self.renew_passwords and self.security_profile == 2

    @classmethod
    def from_env(cls) -> Self:
        """As `Settings.from_env`: development secrets refused outside `APP_ENV=dev`."""
        return cls(common=Settings.from_env())
