"""What a handler gets besides the command: the unit of work, the cause, the settings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar
from uuid import UUID

from services.access.domain.base import Cause
from services.access.handlers.unit_of_work import UnitOfWork

C = TypeVar("C")


@dataclass(frozen=True)
class Rules:
    """Settings the rules depend on."""

    token_secret: bytes
    invitation_ttl: timedelta = timedelta(days=7)


@dataclass
class Context:
    uow: UnitOfWork
    cause: Cause
    rules: Rules

    @property
    def actor(self) -> UUID:
        return UUID(self.cause.actor)


Handler = Callable[[Context, Any], str]
