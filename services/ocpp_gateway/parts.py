"""A `SendLocalList` longer than the charger takes per message, cut into messages.

The choice (README "OCPP gateway"): the first part keeps the request's `updateType` (a
Full list's first part empties the charger's list and installs its first entries), every
further part is a `Differential` adding the next entries, and all carry the list's
version. A charger answering anything but Accepted to a part stops the sequence; the
gateway then sends the Full list again from its first part. A connection lost between
parts leaves the charger with the version but not every entry: see `list_sync`, which
asks a reconnecting charger's version and, for a charger cut mid-sequence, cannot tell
from the version alone; the README says so.
"""

from __future__ import annotations

from services.ocpp_gateway.rpc import Payload

LIST = "localAuthorizationList"


def in_parts(request: Payload, per_message: int | None) -> list[Payload]:
    entries = request.get(LIST, [])
    if per_message is None or len(entries) <= per_message:
        return [request]
    chunks = [entries[i : i + per_message] for i in range(0, len(entries), per_message)]
    first = {**request, LIST: chunks[0]}
    return [
        first,
        *({**request, "updateType": "Differential", LIST: chunk} for chunk in chunks[1:]),
    ]
