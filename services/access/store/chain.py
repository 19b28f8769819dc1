"""Tamper evidence: each stored event is chained to the one before it by a hash.

The hash is computed when the event is stored, in the same transaction and under the
store's table lock, so the chain follows commit order exactly. Changing, removing or
reordering any stored event breaks every link from there on; `verify` names the first.
"""

from __future__ import annotations

import hashlib
import struct
from uuid import UUID

GENESIS = bytes(32)
CHAIN_TABLE = "event_chain"


def link(
    previous: bytes, notification_id: int, originator_id: UUID | str, originator_version: int,
    topic: str, state: bytes,
) -> bytes:
    digest = hashlib.sha256(previous)
    digest.update(struct.pack(">qq", notification_id, originator_version))
    digest.update(UUID(str(originator_id)).bytes)
    digest.update(topic.encode())
    digest.update(b"\x00")
    digest.update(state)
    return digest.digest()
