"""P7's local list: the log of one charger whose list reaches 1 000 keys, as the
projection reads it.

The charger is registered (list version 1, empty), then each of its KEYS users gets a key
and, each by a command of its own, a permanent share on it: every share after the first
key-holder's makes a version, as a live system's would. The last share is held back as
`last_change`, so the measure can ask for the Differential from the version before it (one
entry) and the Full list after it (KEYS entries). Every unit is one command, so the
projection's segmenting (`local_lists.segments`) cuts the log exactly as it cuts a live one.
Pure: the clock and the first position are passed in.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import datetime

from charger_access_client import access_events as ev
from services.access.eventlog.values import EventHead
from services.access.projection.records import LogRecord

KEYS = 1_000
"""Users sharing the charger, each with one key: the Full list's length."""
KEY_TYPE = "KeyCode"


def _id(name: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"bench-p7-list-{name}")


CHARGER = _id("charger")
OWNER = _id("owner")


def user_of(i: int) -> uuid.UUID:
    return _id(f"user-{i}")


def token_of(i: int) -> str:
    """Upper case and at most 20 characters, as a stored token is."""
    return f"BENCHP7K{i:06d}"


def _record(position: int, now: datetime, event: ev.AccessEvent, subject: uuid.UUID,
            command: str) -> LogRecord:
    head = EventHead(subject, 1, type(event).__name__, subject, position, now, str(OWNER),
                     f"bench-p7-list-{command}")
    return LogRecord(position, head, json.loads(event.model_dump_json()))


def _grant(i: int) -> ev.AccessGranted:
    return ev.AccessGranted(charger_id=CHARGER, user_id=user_of(i), level="charge",
                            source={"kind": "invitation", "invitation_id": _id(f"invite-{i}")})


def history(now: datetime, first_position: int = 1) -> Iterator[LogRecord]:
    """The charger, KEYS keys, and the shares of all their users but the last, in order."""
    position = first_position
    yield _record(position, now, ev.ChargerRegistered(
        charger_id=CHARGER, serial_number="BENCH-P7-LIST", group_id=OWNER, owner_id=OWNER),
        CHARGER, "charger")
    for i in range(KEYS):
        position += 1
        key = ev.ChargeKeyAdded(key_id=_id(f"key-{i}"), user_id=user_of(i),
                                id_token=token_of(i), type=KEY_TYPE)
        yield _record(position, now, key, user_of(i), f"key-{i}")
    for i in range(KEYS - 1):
        position += 1
        yield _record(position, now, _grant(i), CHARGER, f"share-{i}")


HISTORY_EVENTS = 1 + KEYS + KEYS - 1
"""How many records `history` yields."""


def last_change(now: datetime, position: int) -> LogRecord:
    """The last user's share: the list's newest version, one key more than the one before."""
    return _record(position, now, _grant(KEYS - 1), CHARGER, f"share-{KEYS - 1}")
