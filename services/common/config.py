"""Configuration from the environment, the same names for `make run`, tests and compose.

Defaults are for this machine; `make run` exports the values it chose (its own broker,
mail catcher, token secret) before starting the services.
"""

from __future__ import annotations

import os
import socket
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
    api_port: int = 8000
    api_tokens: frozenset[str] = field(default_factory=frozenset)
    audit_tokens: frozenset[str] = field(default_factory=frozenset)
    """Bearer tokens of auditors (`AUDIT_TOKENS`): only these open `/v1/audit/...`."""
    broker_check_seconds: float = 5.0
    """How often the access service checks that the broker kept its topics and offsets."""
    operator_ids: frozenset[str] = field(default_factory=frozenset)
    """User ids (`OPERATOR_IDS`) that may send ForgetUser for someone else."""
    topics: Topics = field(default_factory=Topics)
    token_secret: bytes = DEV_TOKEN_SECRET.encode()
    invitation_ttl_seconds: int = 7 * 24 * 3600
    consumer_group_prefix: str = "charger-access"
    access_instance: str = ""
    """The access service instance's name (`ACCESS_INSTANCE`, default the host name): the
    same across its restarts, unique among running instances (`incarnation`); empty: a
    unique one."""

    @classmethod
    def from_env(cls) -> Settings:
        env = os.environ
        tokens = _token_set(env.get("API_TOKENS", ""))
        return cls(
            database_url=env.get("DATABASE_URL", DEFAULT_DATABASE_URL),
            kafka_bootstrap_servers=env.get("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9092"),
            smtp_url=env.get("SMTP_URL", "smtp://127.0.0.1:1025"),
            public_base_url=env.get("PUBLIC_BASE_URL", "http://localhost:8000").rstrip("/"),
            api_port=int(env.get("API_PORT", "8000")),
            api_tokens=tokens,
            audit_tokens=_token_set(env.get("AUDIT_TOKENS", "")),
            operator_ids=_token_set(env.get("OPERATOR_IDS", "")),
            broker_check_seconds=float(env.get("BROKER_CHECK_SECONDS", "5")),
            topics=Topics(env.get("TOPIC_PREFIX", "")),
            token_secret=env.get("TOKEN_SECRET", DEV_TOKEN_SECRET).encode(),
            invitation_ttl_seconds=int(env.get("INVITATION_TTL_SECONDS", str(7 * 24 * 3600))),
            consumer_group_prefix=env.get("CONSUMER_GROUP_PREFIX", "charger-access"),
            access_instance=env.get("ACCESS_INSTANCE") or socket.gethostname(),
        )

    @property
    def smtp_host_port(self) -> tuple[str, int]:
        parsed = urlparse(self.smtp_url)
        return parsed.hostname or "127.0.0.1", parsed.port or 25


def _token_set(value: str) -> frozenset[str]:
    """A comma-separated list of bearer tokens, blanks dropped."""
    return frozenset(t.strip() for t in value.split(",") if t.strip())
