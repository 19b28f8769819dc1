"""The access service's settings: the shared ones plus what only this service reads.

The same environment names and defaults as README's configuration table; tests build
the object directly (`dataclasses.replace(AccessSettings(), ...)`).
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field, fields
from datetime import timedelta

from services.common.config import Settings

INVITATION_TTL_SECONDS = 7 * 24 * 3600


@dataclass(frozen=True)
class AccessSettings(Settings):
    api_port: int = 8000
    api_tokens: frozenset[str] = field(default_factory=frozenset)
    """Bearer tokens of the query API (`API_TOKENS`)."""
    audit_tokens: frozenset[str] = field(default_factory=frozenset)
    """Bearer tokens of auditors (`AUDIT_TOKENS`): only these open `/v1/audit/...`."""
    broker_check_seconds: float = 5.0
    """How often the access service checks that the broker kept its topics and offsets."""
    operator_ids: frozenset[str] = field(default_factory=frozenset)
    """User ids (`OPERATOR_IDS`) that may send ForgetUser for someone else."""
    invitation_ttl_seconds: int = INVITATION_TTL_SECONDS
    share_ending_notice_hours: float = 24.0
    """How long before a share's `valid_until` its holder gets the `share_ending` notice
    (`SHARE_ENDING_NOTICE_HOURS`)."""
    access_instance: str = ""
    """The access service instance's name (`ACCESS_INSTANCE`, default the host name): the
    same across its restarts, unique among running instances (`incarnation`); empty: a
    unique one."""

    @property
    def share_ending_notice(self) -> timedelta:
        return timedelta(hours=self.share_ending_notice_hours)

    @classmethod
    def from_env(cls) -> AccessSettings:
        env = os.environ
        shared = Settings.from_env()
        return cls(
            **{f.name: getattr(shared, f.name) for f in fields(Settings)},
            api_port=int(env.get("API_PORT", "8000")),
            api_tokens=token_set(env.get("API_TOKENS", "")),
            audit_tokens=token_set(env.get("AUDIT_TOKENS", "")),
            operator_ids=token_set(env.get("OPERATOR_IDS", "")),
            broker_check_seconds=float(env.get("BROKER_CHECK_SECONDS", "5")),
            invitation_ttl_seconds=int(
                env.get("INVITATION_TTL_SECONDS", str(INVITATION_TTL_SECONDS))),
            share_ending_notice_hours=float(env.get("SHARE_ENDING_NOTICE_HOURS", "24")),
            access_instance=env.get("ACCESS_INSTANCE") or socket.gethostname(),
        )


def token_set(value: str) -> frozenset[str]:
    """A comma-separated list (of bearer tokens, of user ids), blanks dropped."""
    return frozenset(t.strip() for t in value.split(",") if t.strip())
