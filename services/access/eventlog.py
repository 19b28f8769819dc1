"""Reading the event store's notification log as published events, in store order.

The relay and the projection both follow this log; neither is ever written to from the
command path, so there is no dual write. Positions are the store's notification ids,
which the store hands out in commit order (it locks the table for each insert), so a
reader that has seen position N will never later find a committed event below N.
"""

from __future__ import annotations

from dataclasses import dataclass

from events.envelope import EventEnvelope


@dataclass(frozen=True)
class LoggedEvent:
    """One stored event, as it is published on `access.events`."""

    position: int
    envelope: EventEnvelope
