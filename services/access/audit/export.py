"""The log as JSON lines: one line per stored position, published and internal alike.

Each line carries the raw stored row (base64 `state`), its chain link and the previous
one, so any contiguous slice of an export can be verified offline with nothing but
SHA-256; published events also carry their decoded envelope (the `access.events` shape).
"""

from __future__ import annotations

import base64
import json
from typing import Any

from charger_access_client.envelope import EventEnvelope
from services.access.audit.store import StoredRow
from services.access.store.chain import GENESIS


def export_line(row: StoredRow, previous: bytes, envelope: EventEnvelope | None) -> dict[str, Any]:
    return {
        "position": row.position,
        "originator_id": None if row.originator_id is None else str(row.originator_id),
        "originator_version": row.originator_version,
        "topic": row.topic,
        "published": row.published,
        "state": None if row.state is None else base64.b64encode(row.state).decode(),
        "hash": None if row.hash is None else row.hash.hex(),
        "previous_hash": previous.hex(),
        "event": None if envelope is None else envelope.model_dump(mode="json"),
    }


class Exporter:
    """Turns stored rows, in order, into export lines (remembering the previous link)."""

    def __init__(self, previous: bytes = GENESIS) -> None:
        self.previous = previous
        self.count = 0

    def line(self, row: StoredRow, envelope: EventEnvelope | None) -> str:
        text = json.dumps(export_line(row, self.previous, envelope), separators=(",", ":"))
        self.previous = row.hash if row.hash is not None else self.previous
        self.count += 1
        return text + "\n"
