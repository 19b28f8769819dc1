"""The charge-key commands' contract: a malformed token, type or label is an `invalid`
result naming the field (never a dead letter); a good token is upper-cased."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from charger_access_client.commands import AddChargeKey
from services.access.executor import Invalid, Valid
from services.access.messaging.intake import Record, read


def add_key(**data: Any) -> Record:
    body = {"key_id": str(uuid.uuid4()), "user_id": str(uuid.uuid4()), "id_token": "04A2B3"}
    envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tests",
                "type": "AddChargeKey", "actor": str(uuid.uuid4()), "data": body | data}
    return Record(json.dumps(envelope).encode())


def invalid_fields(record: Record) -> set[str]:
    intake = read(record)
    assert intake.dead_letter is None
    assert isinstance(intake.item, Invalid)
    assert intake.item.result.reason == "invalid"
    return {str(e["loc"][-1]) for e in intake.item.result.errors or []}


@pytest.mark.parametrize("token", ["", "A" * 21, "04 A2", "04/A2", "ÅÆØ1", "04A2\n", "=?x"])
def test_a_token_with_forbidden_characters_or_over_20_is_invalid(token: str) -> None:
    assert invalid_fields(add_key(id_token=token)) == {"id_token"}


@pytest.mark.parametrize("key_type", ["RFID", "iso14443", "Central", "NoAuthorization", ""])
def test_an_unknown_type_is_invalid(key_type: str) -> None:
    assert invalid_fields(add_key(type=key_type)) == {"type"}


@pytest.mark.parametrize("label", ["x" * 101, "line\nbreak", "=?utf-8?q?x?="])
def test_a_label_over_100_or_not_header_safe_is_invalid(label: str) -> None:
    assert invalid_fields(add_key(label=label)) == {"label"}


def test_unknown_fields_are_invalid() -> None:
    assert invalid_fields(add_key(colour="blue")) == {"colour"}


def test_a_good_command_is_upper_cased_and_defaults_to_iso14443() -> None:
    intake = read(add_key(id_token="a1:b2.c3_d4*e5-f6", label=" Blue card "))
    assert isinstance(intake.item, Valid)
    cmd = intake.item.command
    assert isinstance(cmd, AddChargeKey)
    assert (cmd.id_token, cmd.type, cmd.label) == ("A1:B2.C3_D4*E5-F6", "ISO14443", "Blue card")


@pytest.mark.parametrize("key_type", ["ISO14443", "ISO15693", "KeyCode", "MacAddress",
                                      "eMAID", "Local"])
def test_every_spec_type_is_accepted(key_type: str) -> None:
    assert isinstance(read(add_key(type=key_type, id_token="A" * 20)).item, Valid)
