"""The authorize decision from a key and its user's reasons at a moment, as OCPP 1.6 and
2.0.1 word it; every answer passes the `ocpp` package's JSON schemas."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.access.api.authorize import (
    authorize,
    ocpp16_id_tag_info,
    ocpp201_id_token_info,
)
from tests.ocpp_schemas import validate_id_tag_info, validate_id_token_info

NOW = datetime(2026, 6, 6, 10, 0, tzinfo=UTC)  # a Saturday
OWNER = {"source": "owner", "level": "manage"}
MEMBER = {"source": "group:member", "group_id": "g", "level": "charge"}
WEEKEND = {"time_zone": "UTC", "windows": [{"days": ["sat", "sun"], "from": "08:00",
                                             "until": "18:00"}]}
WEEKDAYS = {"time_zone": "UTC", "windows": [{"days": ["mon"], "from": "08:00",
                                              "until": "18:00"}]}


def share(level: str = "charge", valid_from: datetime | None = None,
          valid_until: datetime | None = None, schedule: Any = None) -> dict[str, Any]:
    return {"source": "share", "command_id": "c", "level": level,
            "valid_from": None if valid_from is None else valid_from.isoformat(),
            "valid_until": None if valid_until is None else valid_until.isoformat(),
            "schedule": schedule}


def both(key_blocked: bool | None, why: list[dict[str, Any]] | None
         ) -> tuple[dict[str, Any], dict[str, Any]]:
    decision = authorize(key_blocked, why, NOW)
    v16, v201 = ocpp16_id_tag_info(decision), ocpp201_id_token_info(decision)
    validate_id_tag_info(v16)
    validate_id_token_info(v201)
    return v16, v201


def test_an_unknown_token_is_invalid_in_16_and_unknown_in_201() -> None:
    assert both(None, None) == ({"status": "Invalid"}, {"status": "Unknown"})


def test_a_blocked_key_is_blocked_even_with_access() -> None:
    assert both(True, [OWNER]) == ({"status": "Blocked"}, {"status": "Blocked"})


def test_a_key_whose_user_has_no_access_is_invalid() -> None:
    assert both(False, None) == ({"status": "Invalid"}, {"status": "Invalid"})
    assert both(False, []) == ({"status": "Invalid"}, {"status": "Invalid"})


@pytest.mark.parametrize("why", [[OWNER], [MEMBER], [share()], [share("manage")],
                                 [MEMBER, share(valid_until=NOW + timedelta(hours=1))]])
def test_access_always_in_effect_is_accepted_without_expiry(why: list[dict[str, Any]]) -> None:
    assert both(False, why) == ({"status": "Accepted"}, {"status": "Accepted"})


def test_a_time_bound_share_is_accepted_until_the_end_of_the_current_period() -> None:
    v16, v201 = both(False, [share(schedule=WEEKEND)])
    assert v16 == {"status": "Accepted", "expiryDate": "2026-06-06T18:00:00Z"}
    assert v201 == {"status": "Accepted", "cacheExpiryDateTime": "2026-06-06T18:00:00Z"}


def test_the_expiry_is_valid_until_when_that_comes_first() -> None:
    until = datetime(2026, 6, 6, 16, 30, tzinfo=timezone(timedelta(hours=2)))
    v16, _ = both(False, [share(valid_until=until, schedule=WEEKEND)])
    assert v16["expiryDate"] == "2026-06-06T14:30:00Z"


def test_a_share_that_has_ended_for_good_is_expired() -> None:
    ended = share(valid_from=NOW - timedelta(days=2), valid_until=NOW - timedelta(hours=1))
    assert both(False, [ended]) == ({"status": "Expired"}, {"status": "Expired"})


@pytest.mark.parametrize("waiting", [share(valid_from=NOW + timedelta(hours=1)),
                                     share(schedule=WEEKDAYS)])
def test_a_share_not_in_effect_now_but_later_is_not_at_this_time(waiting: dict[str, Any]
                                                                  ) -> None:
    assert both(False, [waiting]) == ({"status": "Invalid"}, {"status": "NotAtThisTime"})


def test_why_names_the_reasons_in_effect_or_the_waiting_share() -> None:
    waiting = share(valid_from=NOW + timedelta(hours=1))
    assert authorize(False, [waiting], NOW).why == (waiting,)
    assert authorize(False, [OWNER], NOW).why == (OWNER,)
    assert authorize(None, None, NOW).why == ()
