"""Intake findings of the fault suite, kept as regressions."""

from __future__ import annotations

from services.access.executor import Invalid
from services.access.messaging.intake import Record, read


def test_binary_binding_with_unparseable_data_is_dead_lettered_and_answered_by_its_ce_id() -> None:
    """Found by the poison storm (make faults ARGS='--only poison-storm'): the id is in
    the headers, so the sender gets its `invalid` result even though `data` is garbage."""
    command_id = "0b5befdf-07c0-43cd-85b1-0a29619eb13f"
    headers = (("ce_specversion", b"1.0"), ("ce_id", command_id.encode()), ("ce_source", b"svc"),
               ("ce_type", b"RegisterUser"), ("ce_actor", b"a"))
    intake = read(Record(value=b"\xff\xfe not json", headers=headers))
    assert intake.dead_letter is not None
    assert isinstance(intake.item, Invalid)
    assert intake.item.result.command_id == command_id
    assert intake.item.result.reason == "invalid"
