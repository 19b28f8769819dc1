"""The gateway's settings: the shared ones plus the WebSocket server's.

Every value comes from the environment so `make run`, the tests and compose configure it
the same way (README "Configuration").
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from services.common.config import Settings


@dataclass(frozen=True)
class GatewaySettings:
    common: Settings = field(default_factory=Settings)
    port: int = 9000
    """`OCPP_PORT`: OCPP-J, `/healthz` and `/metrics` on one port."""
    host: str = "0.0.0.0"  # noqa: S104 - chargers connect from outside the container
    heartbeat_seconds: int = 300
    """`OCPP_HEARTBEAT_SECONDS`: the interval a BootNotification is answered with."""
    max_frame_bytes: int = 64 * 1024
    """`OCPP_MAX_FRAME_BYTES`: a bigger frame closes that connection (1009), nothing else.
    The largest message a charger sends us (a BootNotification, an Authorize) is < 2 KiB."""
    call_timeout_seconds: float = 30.0
    """`OCPP_CALL_TIMEOUT_SECONDS`: how long a charger may take to answer our call."""
    recheck_seconds: float = 60.0
    """`OCPP_RECHECK_SECONDS`: how often a quiet charger's version is compared with the read
    model's (the safety net for changes the topic never brought)."""

    @classmethod
    def from_env(cls) -> GatewaySettings:
        env = os.environ
        return cls(
            common=Settings.from_env(),
            port=int(env.get("OCPP_PORT", str(cls.port))),
            host=env.get("OCPP_HOST", cls.host),
            heartbeat_seconds=int(env.get("OCPP_HEARTBEAT_SECONDS", str(cls.heartbeat_seconds))),
            max_frame_bytes=int(env.get("OCPP_MAX_FRAME_BYTES", str(cls.max_frame_bytes))),
            recheck_seconds=float(env.get("OCPP_RECHECK_SECONDS", str(cls.recheck_seconds))),
            call_timeout_seconds=float(
                env.get("OCPP_CALL_TIMEOUT_SECONDS", str(cls.call_timeout_seconds))
            ),
        )
