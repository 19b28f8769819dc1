"""What every stored event carries: who caused it and which command did."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from eventsourcing.domain import Aggregate


@dataclass(frozen=True)
class Cause:
    """The actor and command behind a change, stamped on every event it causes."""

    actor: str
    command_id: str
    at: datetime

    def stamp(self) -> dict[str, Any]:
        return {"actor": self.actor, "command_id": self.command_id, "timestamp": self.at}


class AccessAggregate(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        command_id: str
        # Internal bookkeeping events (uniqueness indexes, mirrors) are not published.
        PUBLISHED: ClassVar[bool] = True
