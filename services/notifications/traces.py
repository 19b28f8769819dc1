"""The trace context of the `access.events` records whose e-mails this process sends.

An e-mail is sent from the sent-log's queue, not from the record: the record's
`traceparent` header is kept by event id (in memory, the last ten thousand) for the send
to continue. Only while spans are made; an e-mail sent after a restart starts its own trace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable

from services.common import tracing
from services.common.tracing import RecentTraces

EVENT_TRACES = RecentTraces()


def remember(value: bytes | None, headers: Iterable[tuple[str, bytes]]) -> None:
    """Keep a record's `traceparent` under its event's id (a structured CloudEvent)."""
    trace = tracing.from_headers(headers)
    if trace is None or not value:
        return
    try:
        event_id = json.loads(value).get("id")
    except (ValueError, AttributeError):  # not an envelope: skipped later, not traced
        return
    if isinstance(event_id, str):
        EVENT_TRACES.remember(event_id, trace)
