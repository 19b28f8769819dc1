"""A `SendLocalList` longer than the charger takes per message, cut into messages.

The choice (README "The OCPP gateway"): the first part keeps the request's `updateType`
(a Full list's first part replaces the charger's list), every further part is a
`Differential` adding the next entries. Only the last part carries the list's version V;
the others carry V - 1. A charger cut off between parts therefore never claims V with
only some of V's entries: it reports V - 1, which differs from the read model's current
version (at least V), so its reconnection gets the Full list again. A charger answering
anything but Accepted to a part ends the sequence; the list sync then sends the Full list.
"""

from __future__ import annotations

from services.ocpp_gateway.rpc import Payload

LIST = "localAuthorizationList"
VERSION_KEYS = ("listVersion", "versionNumber")
"""OCPP 1.6's and 2.0.1's name of the version field."""


def in_parts(request: Payload, per_message: int | None) -> list[Payload]:
    entries = request.get(LIST, [])
    if per_message is None or len(entries) <= per_message:
        return [request]
    version_key = next(k for k in VERSION_KEYS if k in request)
    before = max(int(request[version_key]) - 1, 0)
    chunks = [entries[i : i + per_message] for i in range(0, len(entries), per_message)]
    parts = [{**request, LIST: chunk, version_key: before} for chunk in chunks]
    for part in parts[1:]:
        part["updateType"] = "Differential"
    parts[-1][version_key] = request[version_key]
    return parts
