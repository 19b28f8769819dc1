"""The id → positions index names an event under the same ids the timeline reads."""

from __future__ import annotations

from uuid import uuid4

from services.access.audit.sentences import NAMING_TYPES
from services.access.audit.timeline import _KEYS
from services.access.domain.pseudonyms import is_pseudonymous_email, pseudonymous_email
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
