"""Every Kafka record on access.commands becomes a command, a final `invalid` result, or
a dead letter (and sometimes both) — never an exception."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from services.access.executor import Invalid, Valid
from services.access.messaging.intake import Record, read

ACTOR = str(uuid.uuid4())


def structured(type_: str, data: dict[str, Any], **overrides: Any) -> Record:
    envelope = {"specversion": "1.0", "id": str(uuid.uuid4()), "source": "tests", "type": type_,
                "actor": ACTOR, "data": data, **overrides}
    return Record(json.dumps(envelope).encode())


def register(**data: Any) -> dict[str, Any]:
    return {"user_id": str(uuid.uuid4()), "email": "kari@example.no", **data}


def test_structured_envelope_becomes_a_command() -> None:
    intake = read(structured("RegisterUser", register(name="Kari")))
    assert isinstance(intake.item, Valid)
    assert intake.item.type == "RegisterUser"
    assert str(intake.item.actor) == ACTOR
    assert intake.dead_letter is None


def test_binary_binding_reads_ce_headers_and_data_value() -> None:
    command_id = str(uuid.uuid4())
    headers = (("ce_specversion", b"1.0"), ("ce_id", command_id.encode()), ("ce_source", b"svc"),
               ("ce_type", b"RegisterUser"), ("ce_actor", ACTOR.encode()),
               ("ce_time", b"2026-11-21T10:00:00Z"))
    intake = read(Record(json.dumps(register()).encode(), headers=headers))
    assert isinstance(intake.item, Valid)
    assert intake.item.command_id == command_id


@pytest.mark.parametrize("value", [b"", b"{not json", b"[1, 2]", b"\xff\xfe", b'"just a string"'])
def test_non_envelopes_go_to_the_dlq_without_a_result(value: bytes) -> None:
    intake = read(Record(value, key=b"k", topic="access.commands", partition=2, offset=7))
    assert intake.item is None
    assert intake.dead_letter is not None
    assert intake.dead_letter.record.offset == 7


def test_envelope_missing_fields_goes_to_dlq_and_gets_an_invalid_result_when_it_has_an_id() -> None:
    command_id = str(uuid.uuid4())
    intake = read(Record(json.dumps({"id": command_id, "type": "RegisterUser"}).encode()))
    assert intake.dead_letter is not None
    assert isinstance(intake.item, Invalid)
    assert intake.item.result.reason == "invalid"
    assert {tuple(e["loc"]) for e in intake.item.result.errors or []} >= {("specversion",), ("actor",)}


def test_unknown_command_type_goes_to_dlq_with_an_invalid_result() -> None:
    intake = read(structured("DeleteEverything", {}))
    assert intake.dead_letter is not None
    assert "DeleteEverything" in intake.dead_letter.error
    assert isinstance(intake.item, Invalid)


def test_oversize_structured_message_goes_to_dlq_and_gets_an_invalid_result_by_its_id() -> None:
    command_id = str(uuid.uuid4())
    intake = read(structured("RegisterUser", register(name="x" * (1024 * 1024)), id=command_id))
    assert intake.dead_letter is not None
    assert "1 MiB" in intake.dead_letter.error
    assert isinstance(intake.item, Invalid)
    assert intake.item.command_id == command_id
    assert intake.item.result.status == "rejected"
    assert intake.item.result.reason == "invalid"
    assert "1 MiB" in (intake.item.result.detail or "")


def test_oversize_binary_message_gets_an_invalid_result_by_its_ce_id_header() -> None:
    command_id = str(uuid.uuid4())
    headers = (("ce_specversion", b"1.0"), ("ce_id", command_id.encode()),
               ("ce_type", b"RegisterUser"))
    intake = read(Record(json.dumps(register(name="x" * (1024 * 1024))).encode(),
                         headers=headers))
    assert intake.dead_letter is not None
    assert isinstance(intake.item, Invalid)
    assert intake.item.command_id == command_id
    assert intake.item.result.reason == "invalid"


@pytest.mark.parametrize("value", [
    {"padding": "x" * (1024 * 1024)},  # no id at all
    {"data": {"id": "nested", "pad": "x" * (1024 * 1024)}, "id": "late"},  # id past the head
    {"padding": 'x", "id": "in a string' + "x" * (1024 * 1024)},
    {"id": 42, "padding": "x" * (1024 * 1024)},  # not a string
])
def test_oversize_message_without_a_cheap_top_level_id_is_only_dead_lettered(
        value: dict[str, Any]) -> None:
    intake = read(Record(json.dumps(value).encode()))
    assert intake.dead_letter is not None
    assert intake.item is None


def test_oversize_binary_message_without_ce_id_is_only_dead_lettered() -> None:
    intake = read(Record(b'{"id": "' + b"x" * (1024 * 1024) + b'"}',
                         headers=(("ce_specversion", b"1.0"),)))
    assert intake.dead_letter is not None
    assert intake.item is None


def test_schema_violation_is_an_invalid_result_with_field_errors_not_a_dead_letter() -> None:
    intake = read(structured("InviteUser", {"invitation_id": "x", "email": "nope", "charger_ids": [],
                                            "surprise": 1}))
    assert intake.dead_letter is None
    assert isinstance(intake.item, Invalid)
    locs = {tuple(e["loc"]) for e in intake.item.result.errors or []}
    assert locs == {("invitation_id",), ("email",), ("charger_ids",), ("surprise",)}


@pytest.mark.parametrize("hostile", [
    "Kari\r\nBcc: victim@example.com",
    "Kari\nX-Injected: 1",
    "=?UTF-8?Q?=0A?=Bcc: x@example.com",
    "Kari\x00",
    "Kari\u2028Bcc: x",
    "Kari\u202e",
    "x" * 201,
])
def test_text_that_can_reach_a_mail_header_is_refused(hostile: str) -> None:
    intake = read(structured("RegisterUser", register(name=hostile)))
    assert isinstance(intake.item, Invalid)
    assert [e["loc"] for e in intake.item.result.errors or []] == [["name"]]


@pytest.mark.parametrize("email", ["a@b", "kari@example.no\r\nBcc: x@y.z", "=?utf-8?q?x?=@example.no",
                                   "x" * 250 + "@example.no", "two@@example.no"])
def test_bad_email_addresses_are_refused(email: str) -> None:
    intake = read(structured("RegisterUser", register(email=email)))
    assert isinstance(intake.item, Invalid)


def test_field_errors_never_echo_the_input_such_as_a_token() -> None:
    secret = "s3cr3t-token-value-that-must-not-leak!!"
    intake = read(structured("AcceptInvitation", {"invitation_id": str(uuid.uuid4()), "token": secret}))
    assert isinstance(intake.item, Invalid)
    assert secret not in intake.item.result.model_dump_json()


def test_keep_connection_must_be_a_real_boolean() -> None:
    intake = read(structured("TransferChargerToUser", {"charger_id": str(uuid.uuid4()),
                                                       "recipient_phone": "+4790000000",
                                                       "keep_connection": "yes"}))
    assert isinstance(intake.item, Invalid)


def test_transfer_needs_exactly_one_recipient() -> None:
    both = read(structured("TransferChargerToUser", {"charger_id": str(uuid.uuid4()),
                                                     "recipient_phone": "+4790000000",
                                                     "recipient_email": "a@example.no",
                                                     "keep_connection": True}))
    assert isinstance(both.item, Invalid)


SDK_ATTRIBUTES = {"datacontenttype": "application/json", "dataschema": "https://example.com/s.json",
                  "subject": "charger-1", "time": "2026-12-03T10:00:00Z",
                  "partitionkey": "charger-1",
                  "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                  "sequence": 7, "sampled": True}


def test_structured_envelope_takes_every_context_attribute_and_extension() -> None:
    intake = read(structured("RegisterUser", register(), **SDK_ATTRIBUTES))
    assert isinstance(intake.item, Valid)
    assert intake.dead_letter is None


@pytest.mark.parametrize("attributes", [
    {"PartitionKey": "k"}, {"trace_parent": "x"}, {"a" * 21: "x"}, {"data_base64": "AA=="},
    {"partitionkey": {"nested": 1}}, {"partitionkey": [1]},
    {"datacontenttype": "application/xml"}, {"dataschema": "no scheme"}, {"subject": ""},
])
def test_attributes_a_cloudevent_cannot_carry_make_the_envelope_invalid(attributes: dict[str, Any]) -> None:
    intake = read(structured("RegisterUser", register(), **attributes))
    assert intake.dead_letter is not None
    assert isinstance(intake.item, Invalid)
    assert intake.item.result.reason == "invalid"


def test_data_stays_strict_whatever_the_attributes() -> None:
    intake = read(structured("RegisterUser", register(surprise=1), **SDK_ATTRIBUTES))
    assert isinstance(intake.item, Invalid)
    assert [e["loc"] for e in intake.item.result.errors or []] == [["surprise"]]


def test_binary_binding_takes_extension_headers_and_a_json_content_type() -> None:
    headers = (("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
               ("ce_source", b"svc"), ("ce_type", b"RegisterUser"), ("ce_actor", ACTOR.encode()),
               ("ce_partitionkey", b"k"), ("ce_traceparent", b"00-ab-cd-01"),
               ("ce_subject", b"charger-1"), ("content-type", b"application/json; charset=utf-8"))
    assert isinstance(read(Record(json.dumps(register()).encode(), headers=headers)).item, Valid)
    wrong = (*headers[:5], ("ce_Bad_Name", b"x"))
    assert isinstance(read(Record(json.dumps(register()).encode(), headers=wrong)).item, Invalid)


TRACE = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_structured_traceparent_extension_is_carried() -> None:
    intake = read(structured("RegisterUser", register(), traceparent=TRACE))
    assert isinstance(intake.item, Valid)
    assert intake.item.traceparent == TRACE


def test_the_binary_ce_traceparent_and_a_plain_traceparent_header_are_carried() -> None:
    def binary(*trace: tuple[str, bytes]) -> Record:
        headers = (("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
                   ("ce_source", b"svc"), ("ce_type", b"RegisterUser"),
                   ("ce_actor", ACTOR.encode()), *trace)
        return Record(json.dumps(register()).encode(), headers=headers)

    assert read(binary(("ce_traceparent", TRACE.encode()))).item.traceparent == TRACE  # type: ignore[union-attr]
    assert read(binary(("traceparent", TRACE.encode()))).item.traceparent == TRACE  # type: ignore[union-attr]
    assert read(binary()).item.traceparent is None  # type: ignore[union-attr]


def test_a_malformed_traceparent_is_dropped_and_an_invalid_command_keeps_a_good_one() -> None:
    assert read(structured("RegisterUser", register(), traceparent="junk")).item.traceparent is None  # type: ignore[union-attr]
    invalid = read(structured("RegisterUser", {"user_id": "nope"}, traceparent=TRACE)).item
    assert isinstance(invalid, Invalid)
    assert invalid.traceparent == TRACE
