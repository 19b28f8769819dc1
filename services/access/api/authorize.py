"""What a charger is told when shown a key: the OCPP authorization status, decided once for
both protocol versions from the key and the key's user's access row at a moment.

SPEC's order: an unknown token is unknown whatever else holds; a blocked key is Blocked
even where its user has access (so no cache admits it); then the access row at the
moment: in effect → Accepted (with the end of the current period when only time-bound
shares give it), only shares that will never be in effect again → Expired, a share that
is not in effect now but will be → not at this time, nothing → Invalid.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from services.access.api.moment import Reason, at_moment, window_of
from services.access.domain.instants import utc_rfc3339
from services.access.domain.windows import period_end

Decision = Literal["Accepted", "Blocked", "Expired", "NotAtThisTime", "Invalid", "Unknown"]


@dataclass(frozen=True)
class Authorization:
    """The decision and what backs it, before it is worded for one OCPP version."""

    status: Decision
    expiry: datetime | None = None
    """End of the current period of a time-bound-only access (Accepted only)."""
    why: tuple[Reason, ...] = ()
    """Accepted: the reasons in effect; Expired / NotAtThisTime: the shares not in effect."""


def authorize(key_blocked: bool | None, why: list[Reason] | None, at: datetime) -> Authorization:
    """`key_blocked` None: no key has the token; `why` None: the user has no access row."""
    if key_blocked is None:
        return Authorization("Unknown")
    if key_blocked:
        return Authorization("Blocked")
    return by_access(why or [], at)


def by_access(why: list[Reason], at: datetime) -> Authorization:
    """The decision for a live, unblocked key from its user's reasons on the charger."""
    if not why:
        return Authorization("Invalid")
    moment = at_moment(why, at)
    if moment.level is not None:
        return Authorization("Accepted", _expiry(moment.why, at), tuple(moment.why))
    waiting = tuple(r for r in why if window_of(r) is not None)
    if moment.upcoming is None:
        return Authorization("Invalid")
    if moment.upcoming["next_start"] is None:
        return Authorization("Expired", None, waiting)
    return Authorization("NotAtThisTime", None, waiting)


def _expiry(in_force: list[Reason], at: datetime) -> datetime | None:
    """The end of the current period when every reason in effect is a time-bound share;
    None when one of them never ends (a role, ownership, a permanent share)."""
    ends: list[datetime] = []
    for reason in in_force:
        window = window_of(reason)
        end = None if window is None else period_end(window, at)
        if end is None:
            return None
        ends.append(end)
    return max(ends) if ends else None


def ocpp16_id_tag_info(decision: Authorization) -> dict[str, Any]:
    """OCPP 1.6 `IdTagInfo`: no Unknown nor NotAtThisTime there, both read Invalid."""
    status = {"Unknown": "Invalid", "NotAtThisTime": "Invalid"}.get(decision.status,
                                                                   decision.status)
    info: dict[str, Any] = {"status": status}
    if decision.expiry is not None:
        info["expiryDate"] = _ocpp_time(decision.expiry)
    return info


def ocpp201_id_token_info(decision: Authorization) -> dict[str, Any]:
    """OCPP 2.0.1 `IdTokenInfoType`: `Invalid` only for a known key without access."""
    info: dict[str, Any] = {"status": decision.status}
    if decision.expiry is not None:
        info["cacheExpiryDateTime"] = _ocpp_time(decision.expiry)
    return info


_ocpp_time = utc_rfc3339
