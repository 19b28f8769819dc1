"""`seen_in` finds, in one walk and in document order, what the two recursive walkers it
replaced found (kept here as the reference: every object with an `email` whose keys are
a person's fields, and every string with an `@`, depth first)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from services.notifications.privacy import PERSON_FIELDS, PersonSeen, seen_in

_TEXT = st.sampled_from(["", "Kari", "kari@example.no", "x@y", "@", "no address"])
_PERSON = st.fixed_dictionaries(
    {"email": st.one_of(st.none(), _TEXT)},
    optional={
        "user_id": st.one_of(st.none(), st.just(str(UUID(int=7))), st.just(UUID(int=9))),
        "name": st.one_of(st.none(), _TEXT),
        "phone": st.one_of(st.none(), _TEXT),
        "locale": st.sampled_from(["nb", "fr", "en"]),
    },
)
_KEYS = st.sampled_from([*sorted(PERSON_FIELDS), "inviter", "chargers", "data", "emails"])
_JSON: st.SearchStrategy[Any] = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), _TEXT, _PERSON),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(_KEYS, inner, max_size=4)),
    max_leaves=25,
)


def user_id_of(value: Any) -> UUID | None:
    """A person's `user_id` as a UUID; anything else reads as none."""
    if isinstance(value, UUID):
        return value
    try:
        return UUID(value) if isinstance(value, str) else None
    except ValueError:
        return None


def people_in(value: Any) -> Iterator[PersonSeen]:
    if isinstance(value, dict):
        if "email" in value and value.keys() <= PERSON_FIELDS:
            yield PersonSeen(
                user_id_of(value.get("user_id")),
                value["email"] if isinstance(value["email"], str) else None,
                value.get("name") if isinstance(value.get("name"), str) else None,
            )
        for item in value.values():
            yield from people_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from people_in(item)


def addresses_in(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        if "@" in value:
            yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from addresses_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from addresses_in(item)


@given(_JSON)
def test_one_walk_finds_what_the_two_walkers_found_in_the_same_order(value: Any) -> None:
    found = seen_in(value)
    assert found.people == list(people_in(value))
    assert found.addresses == list(addresses_in(value))


def test_a_person_inside_a_person_shaped_list_is_found() -> None:
    value = {"inviter": {"email": "a@example.no", "name": "A"},
             "chargers": [{"email": "b@example.no"}, "c@example.no"]}
    found = seen_in(value)
    assert [p.email for p in found.people] == ["a@example.no", "b@example.no"]
    assert found.addresses == ["a@example.no", "b@example.no", "c@example.no"]
