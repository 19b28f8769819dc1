"""The envelope's own top-level `id`, from the head of a message, and nothing that looks like it."""

from __future__ import annotations

import json

import pytest

from services.access.messaging.leading_id import leading_id


@pytest.mark.parametrize(("value", "expected"), [
    (b'{"id": "a"}', "a"),
    (b' \n{ "specversion" : "1.0" ,\t"id":"b", "data": {', "b"),
    (json.dumps({"type": "X", "data": {"k": [1, 2, {"id": "no"}]}, "id": "c"}).encode(), "c"),
    (b'{"i\\u0064": "escaped key"}', "escaped key"),
    (b'{"data": {"id": "nested"}}', None),
    (b'{"note": "\\"id\\": \\"in a string\\""}', None),
    (b'{"id": null}', None),
    (b'["id", "a"]', None),
    (b"not json", None),
    (b"", None),
    (b'{"id" "a"}', None),
    (b'{"a": 1 "id": "b"}', None),
])
def test_leading_id(value: bytes, expected: str | None) -> None:
    assert leading_id(value) == expected


def test_a_member_that_runs_past_the_head_stops_the_search() -> None:
    value = json.dumps({"data": "x" * 100, "id": "late"}).encode()
    assert leading_id(value, head_bytes=50) is None
    assert leading_id(value, head_bytes=len(value)) == "late"


def test_a_multibyte_character_cut_by_the_head_is_not_misread() -> None:
    value = json.dumps({"id": "ø" * 40}, ensure_ascii=False).encode()
    assert leading_id(value, head_bytes=len(value) - 3) is None
