"""P7's local-list charger: the log the measure projects, read by the projection's own
segmenting and fold, makes one version per share and a Full list of every key."""

from __future__ import annotations

from datetime import UTC, datetime

from bench.p7_list_history import (
    CHARGER,
    HISTORY_EVENTS,
    KEY_TYPE,
    KEYS,
    history,
    last_change,
    token_of,
    user_of,
)
from bench.p7_local_lists import expected
from services.access.local_lists.content import Holder, Key, full_list
from services.access.local_lists.entries import EntryInfo, TokenKey
from services.access.local_lists.segments import segments
from services.access.projection.changes import fold_logged

NOW = datetime(2026, 12, 3, 11, 0, tzinfo=UTC)


def test_the_log_is_in_position_order_and_the_last_share_comes_after_it() -> None:
    records = [*history(NOW), last_change(NOW, HISTORY_EVENTS + 1)]
    assert [r.position for r in records] == list(range(1, HISTORY_EVENTS + 2))
    assert records[-1].head.type == "AccessGranted"
    assert records[-1].data["user_id"] == str(user_of(KEYS - 1))


def test_each_share_is_a_segment_of_its_own_so_a_version_of_its_own() -> None:
    records = [*history(NOW), last_change(NOW, HISTORY_EVENTS + 1)]
    naming_the_charger = [s for s in segments(records) if CHARGER in s.chargers]
    # the registration (version 1), then one per share (versions 2 .. KEYS + 1)
    assert len(naming_the_charger) == 1 + KEYS
    assert all(s.wide is None for s in naming_the_charger)


def test_folded_the_shares_and_keys_make_a_full_list_of_every_key() -> None:
    changes = fold_logged([*history(NOW), last_change(NOW, HISTORY_EVENTS + 1)])
    shared = {user for (charger, user), row in changes.shares.items()
              if charger == CHARGER and row is not None}
    keys = [row for row in changes.charge_keys.values() if row is not None]
    assert shared == {user_of(i) for i in range(KEYS)}
    holders = [(Holder(standing=False, has_share=True, share_in_effect=True),
                [Key(k.id_token, k.type, False) for k in keys if k.user_id == user])
               for user in shared]
    listed = full_list(holders)
    assert len(listed) == KEYS
    assert listed[TokenKey(token_of(7), KEY_TYPE)] == EntryInfo("Accepted")


def test_tokens_are_distinct_stored_tokens() -> None:
    tokens = {token_of(i) for i in range(KEYS)}
    assert len(tokens) == KEYS
    assert all(len(t) <= 20 and t == t.upper() for t in tokens)


def test_what_a_correct_answer_holds() -> None:
    assert expected("full") == ("Full", KEYS)
    assert expected("differential") == ("Differential", 1)
