"""Fuzzing the command envelope and every command model: whatever arrives, the intake
answers with a command, a final result, or a dead letter, and never raises.

`FUZZ_EXAMPLES` sets hypothesis' examples per test (the fault suite asks for 10 000 in
all). Every input actually run is tallied by its outcome, and with `FUZZ_TALLY` set the
tally is written there (JSON) when the module ends: the fault suite reports those counts,
not the number it asked for. An input is *lost* if it got nothing (or the intake raised)
and *doubled* if it was both run as a command and dead-lettered."""

from __future__ import annotations

import json
import os
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from charger_access_client.commands import COMMAND_TYPES
from services.access.executor import Invalid, Valid
from services.access.messaging.intake import Intake, Record, read

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=300),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=20), children, max_size=5),
    max_leaves=20,
)
uuids = st.uuids().map(str)
field_values = st.one_of(uuids, st.text(max_size=300), st.lists(uuids, max_size=120),
                         st.booleans(), st.integers(), st.none(), json_values,
                         st.sampled_from(["charge", "manage", "admin", "member", "nb", "fr", "en",
                                          "+4790000000", "a@b.no", "x=?utf-8?q?y?=", "a\r\nBcc: x"]))
field_names = st.sampled_from(sorted({f for m in COMMAND_TYPES.values() for f in m.model_fields}
                                     | {"unexpected"}))
command_data = st.dictionaries(field_names, field_values, max_size=8)
envelopes = st.fixed_dictionaries(
    {"specversion": st.sampled_from(["1.0", "0.3", 1]), "id": st.one_of(uuids, st.text(max_size=40), st.integers()),
     "source": st.text(max_size=30), "type": st.sampled_from([*COMMAND_TYPES, "Nope", ""]),
     "actor": st.one_of(uuids, st.text(max_size=10)), "data": st.one_of(command_data, json_values)},
    optional={"time": st.one_of(st.text(max_size=30), st.just("2026-11-21T10:00:00Z")),
              "extra": json_values},
)


TALLY: Counter[str] = Counter()
"""`<test>:<outcome>` → inputs run."""


@pytest.fixture(scope="module", autouse=True)
def _write_tally() -> Iterator[None]:
    yield
    if target := os.environ.get("FUZZ_TALLY"):
        Path(target).write_text(json.dumps(dict(TALLY), sort_keys=True))


def outcome(intake: Intake) -> str:
    if intake.item is None:
        return "dead_letter" if intake.dead_letter is not None else "lost"
    if isinstance(intake.item, Valid):
        return "doubled" if intake.dead_letter is not None else "command"
    return "result_and_dead_letter" if intake.dead_letter is not None else "result"


def tallied(test: str, reading: Callable[[], Intake]) -> Intake:
    """Run one input through the intake, counting it by outcome (also when it raises)."""
    try:
        intake = reading()
    except Exception:
        TALLY[f"{test}:raised"] += 1
        raise
    TALLY[f"{test}:{outcome(intake)}"] += 1
    return intake


def check(intake: Intake) -> None:
    assert intake.item is not None or intake.dead_letter is not None
    assert not (isinstance(intake.item, Valid) and intake.dead_letter is not None)
    if isinstance(intake.item, Invalid):
        assert intake.item.result.status == "rejected"
        assert intake.item.result.reason == "invalid"
    if isinstance(intake.item, Valid):
        assert intake.item.type in COMMAND_TYPES


@FUZZ
@given(st.binary(max_size=2000))
def test_any_bytes(value: bytes) -> None:
    check(tallied("any_bytes", lambda: read(Record(value))))


@FUZZ
@given(envelopes)
def test_structured_envelopes(envelope: dict[str, Any]) -> None:
    check(tallied("structured", lambda: read(Record(json.dumps(envelope).encode()))))


@FUZZ
@given(st.sampled_from(sorted(COMMAND_TYPES)), command_data)
def test_every_command_model_via_binary_binding(type_: str, data: dict[str, Any]) -> None:
    headers = (("ce_specversion", b"1.0"), ("ce_id", str(uuid.uuid4()).encode()),
               ("ce_source", b"fuzz"), ("ce_type", type_.encode()),
               ("ce_actor", str(uuid.uuid4()).encode()))
    intake = tallied("binary", lambda: read(Record(json.dumps(data).encode(), headers=headers)))
    check(intake)
    assert intake.item is not None  # a parseable envelope always gets a result


@FUZZ
@given(st.lists(st.tuples(st.text(max_size=20), st.binary(max_size=50)), max_size=6), st.binary(max_size=200))
def test_arbitrary_headers(headers: list[tuple[str, bytes]], value: bytes) -> None:
    check(tallied("headers", lambda: read(Record(value, headers=tuple(headers)))))
