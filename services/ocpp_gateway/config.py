"""The gateway's settings: the shared ones plus the WebSocket server's.

Every value comes from the environment so `make run`, the tests and compose configure it
the same way (README "Configuration"); a bad value stops the gateway with one line
naming its variable, as in the other services (`services/common/env_settings.py`).
"""

from __future__ import annotations

from typing import Self

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.common.config import Settings
from services.common.env_settings import EnvSettings


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

    @classmethod
    def from_env(cls) -> Self:
        """As `Settings.from_env`: development secrets refused outside `APP_ENV=dev`."""
        return cls(common=Settings.from_env())
