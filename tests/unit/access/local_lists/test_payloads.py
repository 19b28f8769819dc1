from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import jsonschema
import pytest

from services.access.local_lists.entries import EntryInfo, TokenKey
from services.access.local_lists.payloads import send_local_list_16, send_local_list_201
from tests.ocpp_schemas import validate

CARD = TokenKey("04A2B3C4", "ISO14443")
FOB = TokenKey("0001", "KeyCode")
END = datetime(2031, 5, 1, 18, 0, tzinfo=timezone(timedelta(hours=2)))


def validate_16(payload: dict[str, Any]) -> None:
    validate("1.6", "SendLocalList", payload)


def validate_201(payload: dict[str, Any]) -> None:
    validate("2.0.1", "SendLocalListRequest", payload)


def test_full_16_has_every_token_with_status_and_expiry_in_utc() -> None:
    request = send_local_list_16(
        3, "Full", {CARD: EntryInfo("Accepted", END), FOB: EntryInfo("Blocked")})
    validate_16(request)
    assert request == {
        "listVersion": 3, "updateType": "Full",
        "localAuthorizationList": [
            {"idTag": "0001", "idTagInfo": {"status": "Blocked"}},
            {"idTag": "04A2B3C4",
             "idTagInfo": {"status": "Accepted", "expiryDate": "2031-05-01T16:00:00Z"}},
        ]}


def test_full_201_has_type_and_cache_expiry() -> None:
    request = send_local_list_201(3, "Full", {CARD: EntryInfo("Accepted", END)})
    validate_201(request)
    assert request["localAuthorizationList"] == [
        {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"},
         "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": "2031-05-01T16:00:00Z"}}]


def test_differential_removal_has_no_info() -> None:
    r16 = send_local_list_16(4, "Differential", {CARD: None})
    r201 = send_local_list_201(4, "Differential", {CARD: None})
    validate_16(r16)
    validate_201(r201)
    assert r16["localAuthorizationList"] == [{"idTag": "04A2B3C4"}]
    assert r201["localAuthorizationList"] == [
        {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}}]


def test_empty_lists_are_valid_and_201_leaves_the_list_out() -> None:
    validate_16(send_local_list_16(1, "Full", {}))
    r201 = send_local_list_201(1, "Full", {})
    validate_201(r201)
    assert "localAuthorizationList" not in r201


def test_16_keeps_one_entry_per_token_preferring_iso14443_and_info_over_removal() -> None:
    same = TokenKey("04A2B3C4", "KeyCode")
    request = send_local_list_16(
        2, "Differential", {same: None, CARD: EntryInfo("Accepted")})
    validate_16(request)
    assert request["localAuthorizationList"] == [
        {"idTag": "04A2B3C4", "idTagInfo": {"status": "Accepted"}}]
    blocked_card = send_local_list_16(
        2, "Full", {same: EntryInfo("Accepted"), CARD: EntryInfo("Blocked")})
    assert blocked_card["localAuthorizationList"][0]["idTagInfo"] == {"status": "Blocked"}


def test_the_schemas_do_reject_a_bad_payload() -> None:
    """The validators are not vacuous: a wrong status or a missing type fails."""
    with pytest.raises(jsonschema.ValidationError):
        validate_16({"listVersion": 1, "updateType": "Full",
                     "localAuthorizationList": [{"idTag": "X", "idTagInfo": {"status": "Nope"}}]})
    with pytest.raises(jsonschema.ValidationError):
        validate_201({"versionNumber": 1, "updateType": "Full",
                      "localAuthorizationList": [{"idToken": {"idToken": "X"}}]})
    with pytest.raises(jsonschema.ValidationError, match="date-time"):
        validate_201({"versionNumber": 1, "updateType": "Full", "localAuthorizationList": [
            {"idToken": {"idToken": "X", "type": "Local"},
             "idTokenInfo": {"status": "Accepted", "cacheExpiryDateTime": "tomorrow"}}]})


def test_expiry_round_trips_through_the_stored_info() -> None:
    info = EntryInfo("Accepted", END.astimezone(UTC))
    assert EntryInfo.from_data(info.to_data()) == info
