"""Configuration both services share, from the environment: the same names for `make
run`, tests and compose. Each service adds its own (`services/access/config.py`,
`services/notifications/config.py`).

Defaults are for this machine; `make run` exports the values it chose (its own broker,
mail catcher, token secret) before starting the services.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlparse, urlsplit, urlunsplit

from charger_access_client.topics import Topics
from services.common.kafka_security import KafkaSecurity, KafkaSettingError

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/charger_access"
DEV_TOKEN_SECRET = "dev-only-token-secret-change-me"  # noqa: S105


@dataclass(frozen=True)
class Settings:
    database_url: str = DEFAULT_DATABASE_URL
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_security: KafkaSecurity = field(default_factory=KafkaSecurity)
    kafka_partitions: int = 3
    """Partitions of each topic we create (`KAFKA_PARTITIONS`)."""
    kafka_replication_factor: int = 1
    """Replicas of each topic we create (`KAFKA_REPLICATION_FACTOR`): 3 on a production
    cluster; 1 suits a single local broker."""
    smtp_url: str = field(default="smtp://127.0.0.1:1025", repr=False)  # may hold a password
    public_base_url: str = "http://localhost:8000"
    topics: Topics = field(default_factory=Topics)
    token_secret: bytes = field(default=DEV_TOKEN_SECRET.encode(), repr=False)
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
            kafka_security=KafkaSecurity.from_env(env),
            kafka_partitions=_positive(env, "KAFKA_PARTITIONS", 3),
            kafka_replication_factor=_positive(env, "KAFKA_REPLICATION_FACTOR", 1),
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
        return parsed.hostname or "127.0.0.1", parsed.port or (
            465 if parsed.scheme == "smtps" else 25)


def _positive(env: Mapping[str, str], name: str, default: int) -> int:
    text = env.get(name, str(default))
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise KafkaSettingError(f"{name} must be a whole number of at least 1, not {text!r}")
    return value


def redacted(url: str) -> str:
    """`url` fit to print: a password in it (SMTP_URL, DATABASE_URL) replaced by `***`."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))
