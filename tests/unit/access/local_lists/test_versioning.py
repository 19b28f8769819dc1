from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.access.domain.windows import Window
from services.access.local_lists.content import Holder, Key, full_list
from services.access.local_lists.entries import EntryInfo, TokenKey
from services.access.local_lists.versioning import (
    apply_changes,
    changes_between,
    with_token_siblings,
)

A, B, C = TokenKey("A", "ISO14443"), TokenKey("B", "ISO14443"), TokenKey("C", "KeyCode")


def test_equal_content_has_no_changes() -> None:
    old = {A: EntryInfo("Accepted"), B: EntryInfo("Blocked")}
    assert changes_between(old, dict(old)) == {}


def test_added_changed_and_removed() -> None:
    old = {A: EntryInfo("Accepted"), B: EntryInfo("Accepted")}
    new = {A: EntryInfo("Blocked"), C: EntryInfo("Accepted")}
    assert changes_between(old, new) == {A: EntryInfo("Blocked"), C: EntryInfo("Accepted"),
                                         B: None}


infos = st.sampled_from([EntryInfo("Accepted"), EntryInfo("Blocked"),
                         EntryInfo("Accepted", datetime(2030, 1, 1, tzinfo=UTC))])
lists = st.dictionaries(st.sampled_from([A, B, C, TokenKey("A", "Local")]), infos)


@given(lists, lists)
def test_a_differential_takes_the_old_list_to_the_new(old: dict[TokenKey, EntryInfo],
                                                      new: dict[TokenKey, EntryInfo]) -> None:
    assert apply_changes(old, changes_between(old, new)) == new


def test_siblings_of_a_changed_token_come_along() -> None:
    other = TokenKey("A", "Local")
    assert with_token_siblings({other: None}, {A: EntryInfo("Accepted")}) == {
        other: None, A: EntryInfo("Accepted")}


def test_full_list_takes_standing_holders_and_shares_in_effect_as_the_log_has_them() -> None:
    at = datetime(2030, 6, 1, 10, tzinfo=UTC)
    window = Window.from_data({"valid_from": None, "valid_until": "2030-06-02T00:00:00+00:00",
                               "schedule": None})
    owner = (Holder(standing=True), [Key("O1", "ISO14443", blocked=False),
                                     Key("O2", "ISO14443", blocked=True)])
    shared = (Holder(standing=False, has_share=True, share_window=window,
                     share_in_effect=True, effect_at=at), [Key("S", "KeyCode", blocked=False)])
    ended = (Holder(standing=False, has_share=True, share_window=window,
                    share_in_effect=False, effect_at=at), [Key("E", "KeyCode", blocked=False)])
    permanent = (Holder(standing=False, has_share=True, share_window=Window.from_data(None),
                        share_in_effect=True), [Key("P", "Local", blocked=False)])
    assert full_list([owner, shared, ended, permanent]) == {
        TokenKey("O1", "ISO14443"): EntryInfo("Accepted"),
        TokenKey("O2", "ISO14443"): EntryInfo("Blocked"),
        TokenKey("S", "KeyCode"): EntryInfo("Accepted", datetime(2030, 6, 2, tzinfo=UTC)),
        TokenKey("P", "Local"): EntryInfo("Accepted"),
    }
