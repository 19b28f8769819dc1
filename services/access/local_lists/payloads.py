"""The OCPP payloads a CSMS forwards unchanged: 1.6 `SendLocalList.req` and 2.0.1
`SendLocalListRequest`, Full or Differential, built from a list's entries.

Entries come in token order so the same list always gives the same bytes.
"""

from __future__ import annotations

from operator import attrgetter
from typing import Any, Literal

from services.access.local_lists.entries import (
    TYPE_PREFERENCE,
    Changes,
    EntryInfo,
    TokenKey,
    rfc3339,
)

UpdateType = Literal["Full", "Differential"]


def send_local_list_16(version: int, update_type: UpdateType, entries: Changes) -> dict[str, Any]:
    """OCPP 1.6: one entry per token (the preferred type's info wins); None info removes.

    For a Differential, `entries` must hold the current entries sharing a token with a
    changed key too (`versioning.with_token_siblings`)."""
    by_token: dict[str, EntryInfo | None] = {}
    for key in sorted(entries, key=_preference):
        info = entries[key]
        if key.id_token not in by_token or (by_token[key.id_token] is None and info is not None):
            by_token[key.id_token] = info
    items: list[dict[str, Any]] = []
    rendered: dict[EntryInfo, dict[str, Any]] = {}
    for token in sorted(by_token):
        entry: dict[str, Any] = {"idTag": token}
        info = by_token[token]
        if info is not None:
            entry["idTagInfo"] = rendered.get(info) or rendered.setdefault(
                info, _info(info, "expiryDate"))
        items.append(entry)
    return {"listVersion": version, "updateType": update_type, "localAuthorizationList": items}


def send_local_list_201(version: int, update_type: UpdateType, entries: Changes) -> dict[str, Any]:
    """OCPP 2.0.1: one entry per (token, type); None info removes. The schema wants at
    least one entry when the list is given, so an empty one is left out (a Full without
    entries empties the charger's list, a Differential without entries changes nothing)."""
    items: list[dict[str, Any]] = []
    rendered: dict[EntryInfo, dict[str, Any]] = {}
    for key in sorted(entries, key=_token_order):
        entry: dict[str, Any] = {"idToken": {"idToken": key.id_token, "type": key.type}}
        info = entries[key]
        if info is not None:
            entry["idTokenInfo"] = rendered.get(info) or rendered.setdefault(
                info, _info(info, "cacheExpiryDateTime"))
        items.append(entry)
    request: dict[str, Any] = {"versionNumber": version, "updateType": update_type}
    if items:
        request["localAuthorizationList"] = items
    return request


def _info(info: EntryInfo, expiry_field: str) -> dict[str, Any]:
    """An entry's info as OCPP spells it; rendered once per distinct info of a list (the
    entries share the dict: most of a list's keys are told the same)."""
    data: dict[str, Any] = {"status": info.status}
    if info.expiry is not None:
        data[expiry_field] = rfc3339(info.expiry)
    return data


_token_order = attrgetter("id_token", "type")
"""TokenKey's own order, without the generated `__lt__`'s tuple per comparison."""


def _preference(key: TokenKey) -> tuple[str, int]:
    rank = TYPE_PREFERENCE.index(key.type) if key.type in TYPE_PREFERENCE else len(TYPE_PREFERENCE)
    return key.id_token, rank
