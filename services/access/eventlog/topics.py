"""Which stored event types are published: the only ones the log's readers select.

A stored event's topic is its class's module path and name. The aggregates' event
classes that have a contract model (`charger_access_client.access_events.EVENT_TYPES`) and say
`PUBLISHED` are read; the rest are internal bookkeeping (uniqueness claims, shares
recorded for the aggregate's own use) and leave gaps between positions.
"""

from __future__ import annotations

from eventsourcing.utils import get_topic

from charger_access_client.access_events import EVENT_TYPES
from services.access.domain.charge_key import ChargeKey
from services.access.domain.charger import Charger
from services.access.domain.group import Group
from services.access.domain.invitation import Invitation
from services.access.domain.user import User


def _published_topics() -> list[str]:
    topics = []
    for aggregate in (User, Group, Charger, Invitation, ChargeKey):
        for value in vars(aggregate).values():
            if (isinstance(value, type) and issubclass(value, aggregate.Event)
                    and value.__name__ in EVENT_TYPES and value.PUBLISHED):
                topics.append(get_topic(value))
    return topics


PUBLISHED_TOPICS = _published_topics()
