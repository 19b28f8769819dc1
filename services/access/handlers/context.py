"""What a handler gets besides the command: the unit of work, the cause, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any
from uuid import UUID

from services.access.domain.base import Cause
from services.access.handlers.unit_of_work import UnitOfWork
from services.access.ports import Forgetting


@dataclass(frozen=True)
class Rules:
    """Settings the rules depend on."""

    token_secret: bytes
    invitation_ttl: timedelta = timedelta(days=7)
    operators: frozenset[str] = frozenset()
    """User ids allowed to act for others where SPEC says "or an operator" (ForgetUser)."""
    previous_token_secrets: tuple[bytes, ...] = ()
    """Secrets `token_secret` replaced: tokens issued under them are still accepted."""

    @property
    def token_secrets(self) -> tuple[bytes, ...]:
        """The secrets a token may have been issued under, the current one first."""
        return (self.token_secret, *self.previous_token_secrets)


@dataclass
class Context:
    uow: UnitOfWork
    cause: Cause
    rules: Rules
    forgetting: Forgetting = field(default_factory=Forgetting)
    """Personal data to forget in the same commit as this command's events."""

    @property
    def actor(self) -> UUID:
        return UUID(self.cause.actor)


Handler = Callable[[Context, Any], str]
