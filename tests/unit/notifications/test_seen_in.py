"""`seen_in` finds in one walk what `people_in` and `addresses_in` find in two (the
deliverer looks at each event through it once)."""

from __future__ import annotations

from collections import Counter
from typing import Any
from uuid import UUID

from hypothesis import given
from hypothesis import strategies as st

from services.notifications.privacy import PERSON_FIELDS, addresses_in, people_in, seen_in

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


@given(_JSON)
def test_one_walk_finds_what_the_two_walkers_find(value: Any) -> None:
    found = seen_in(value)
    assert Counter(found.people) == Counter(people_in(value))
    assert Counter(found.addresses) == Counter(addresses_in(value))


def test_a_person_inside_a_person_shaped_list_is_found() -> None:
    value = {"inviter": {"email": "a@example.no", "name": "A"},
             "chargers": [{"email": "b@example.no"}, "c@example.no"]}
    found = seen_in(value)
    assert sorted(p.email or "" for p in found.people) == ["a@example.no", "b@example.no"]
    assert sorted(found.addresses) == ["a@example.no", "b@example.no", "c@example.no"]
