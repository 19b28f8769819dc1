"""The id → positions index names an event under the same ids the timeline reads."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.access.audit.directory import NAMING_TYPES
from services.access.audit.timeline import _KEYS
from services.access.domain.pseudonyms import is_pseudonymous_email, pseudonymous_email
from services.access.projection.tables import positions
from services.access.projection.tables.positions import (
    ID_KEYS,
    NAME_SUBJECTS,
    email_digest,
    named_emails,
    named_ids,
)


def test_the_index_reads_the_fields_the_timeline_reads() -> None:
    assert set(_KEYS) == ID_KEYS


def test_the_name_index_holds_the_events_the_directory_learns_names_from() -> None:
    assert set(NAME_SUBJECTS) == set(NAMING_TYPES)
    assert set(NAME_SUBJECTS.values()) <= ID_KEYS


def test_ids_are_found_at_any_depth_in_lists_and_references() -> None:
    data = {"invitation_id": "i", "chargers": [{"charger_id": "c1", "name": "Garasje"},
                                               {"charger_id": "c2"}],
            "to_user": {"user_id": "u", "email": "ola@example.no"}, "group_id": None,
            "charger_ids": ["c3", "c4"], "level": "charge"}
    assert named_ids(data) == {"i", "c1", "c2", "u", "c3", "c4"}


def test_addresses_are_found_at_any_depth_but_not_in_id_fields() -> None:
    data = {"email": "Ola@Example.no", "invitation_id": "i",
            "to_user": {"user_id": None, "email": "pii:v1:00ff:sealed"},
            "chargers": [{"charger_id": "c", "email": "kari@example.no"}],
            "pseudonym_email": "forgotten-0123456789ab@forgotten.invalid"}
    assert named_emails(data) == {"Ola@Example.no", "pii:v1:00ff:sealed", "kari@example.no"}


def test_a_persons_own_address_beside_their_id_is_left_to_the_id() -> None:
    data = {"user_id": "u", "email": "ola@example.no",
            "changed_by": {"user_id": "k", "email": "kari@example.no"},
            "user": {"user_id": None, "email": "eva@example.no"}}
    assert named_emails(data) == {"eva@example.no"}


def test_an_address_is_indexed_by_its_normalised_form() -> None:
    assert email_digest(" Ola@Example.NO ") == email_digest("ola@example.no")
    assert email_digest("ola@example.no") != email_digest("kari@example.no")
    assert len(email_digest("ola@example.no")) == 64


def test_a_forgotten_persons_stand_in_is_known_as_one() -> None:
    assert is_pseudonymous_email(pseudonymous_email(uuid4()))
    assert not is_pseudonymous_email("ola@example.no")


def _reference_ids(data: Any, found: set[str]) -> set[str]:
    """The rule as first written, one walk for ids alone: the oracle for the joint walk."""
    if isinstance(data, list):
        for item in data:
            _reference_ids(item, found)
    elif isinstance(data, dict):
        for key, item in data.items():
            if key in ID_KEYS and item is not None:
                found.update(str(one) for one in (item if isinstance(item, list) else [item]))
            else:
                _reference_ids(item, found)
    return found


def _reference_emails(data: Any, found: set[str]) -> set[str]:
    if isinstance(data, list):
        for item in data:
            _reference_emails(item, found)
    elif isinstance(data, dict):
        has_user = data.get("user_id") is not None
        for key, item in data.items():
            if key in ID_KEYS:
                continue
            if key == "email" and isinstance(item, str):
                if not has_user:
                    found.add(item)
            else:
                _reference_emails(item, found)
    return found


_KEY_NAMES = st.sampled_from([*sorted(ID_KEYS), "email", "name", "to_user", "chargers",
                              "level"])
_LEAVES = st.one_of(st.none(), st.uuids(), st.sampled_from(["ola@example.no", "x", "c1"]),
                    st.lists(st.uuids(), max_size=3))
_DATA = st.recursive(_LEAVES, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(_KEY_NAMES, inner, max_size=5)),
    max_leaves=25)


@settings(max_examples=400, deadline=None)
@given(data=st.dictionaries(_KEY_NAMES, _DATA, max_size=6))
def test_one_walk_finds_the_ids_and_addresses_the_rules_name(data: dict[str, Any]) -> None:
    assert named_ids(data) == _reference_ids(data, set())
    assert named_emails(data) == _reference_emails(data, set())


def test_ids_as_text_are_their_canonical_form_before_and_after_the_memo_is_full(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(positions, "_UUID_TEXT_MAX", 3)
    ids = [uuid4() for _ in range(10)]
    for one in ids * 2:
        assert named_ids({"charger_id": one}) == {str(one)}
    assert len(positions._UUID_TEXT) <= 3
