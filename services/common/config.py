"""Configuration both services share, from the environment: the same names for `make
run`, tests and compose. Each service adds its own (`services/access/config.py`,
`services/notifications/config.py`).

Defaults are for this machine; `make run` exports the values it chose (its own broker,
mail catcher, token secret) before starting the services.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from urllib.parse import urlparse

from events.topics import Topics

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/charger_access"
DEV_TOKEN_SECRET = "dev-only-token-secret-change-me"  # noqa: S105


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    smtp_url: str = "smtp://127.0.0.1:1025"
    public_base_url: str = "http://localhost:8000"
    topics: Topics = field(default_factory=Topics)
    token_secret: bytes = DEV_TOKEN_SECRET.encode()
    consumer_group_prefix: str = "charger-access"
    previous_token_secrets: tuple[bytes, ...] = field(default=(), repr=False)
    """`TOKEN_SECRET_PREVIOUS` (comma-separated): secrets `token_secret` replaced, accepted
    for invitation tokens issued under them, never used to issue one."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            smtp_url=env.get("SMTP_URL", "smtp://127.0.0.1:1025"),
            public_base_url=env.get("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/"),
            topics=Topics(env.get("TOPIC_PREFIX", "")),
            token_secret=env.get("TOKEN_SECRET", DEV_TOKEN_SECRET).encode(),
            previous_token_secrets=tuple(
                s.strip().encode() for s in env.get("TOKEN_SECRET_PREVIOUS", "").split(",")
                if s.strip()),
            consumer_group_prefix=env.get("CONSUMER_GROUP_PREFIX", "charger-access"),
        )

    @property
    def smtp_host_port(self) -> tuple[str, int]:
        parsed = urlparse(self.smtp_url)
        return parsed.hostname or "127.0.0.1", parsed.port or 25

