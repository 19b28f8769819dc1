"""An access row at a moment: the reasons in effect, their level, the upcoming share, and
what a list entry says now."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any

from services.access.api.moment import at_moment, effect, listed, window_of
from services.access.domain.windows import in_effect, next_change
from tests.schedules import WEEKEND

START = datetime(2026, 6, 5, 14, tzinfo=UTC)  # a Friday
END = START + timedelta(days=3)
MEMBER = {"source": "group:member", "group_id": "g", "level": "charge"}


def share(level: str = "manage", **window: Any) -> dict[str, Any]:
    return {"source": "share", "command_id": "c", "level": level, "valid_from": None,
            "valid_until": None, "schedule": None, **window}


BOUNDED = share(valid_from=START.isoformat(), valid_until=END.isoformat())


def test_reasons_always_in_effect_have_no_window():
    assert window_of(MEMBER) is None
    assert window_of({"source": "share", "command_id": "c", "level": "charge"}) is None
    assert window_of(BOUNDED) is not None


def test_a_share_outside_its_window_leaves_the_standing_reasons_and_is_upcoming():
    before = at_moment([BOUNDED, MEMBER], START - timedelta(seconds=1))
    assert (before.level, before.why) == ("charge", [MEMBER])
    assert before.upcoming == {"level": "manage", "next_start": START}

    inside = at_moment([BOUNDED, MEMBER], START)
    assert (inside.level, inside.why, inside.upcoming) == ("manage", [BOUNDED, MEMBER], None)

    after = at_moment([BOUNDED], END)
    assert (after.level, after.why) == (None, [])
    assert after.upcoming == {"level": "manage", "next_start": None}


def test_a_schedule_is_read_in_its_zones_wall_clock():
    weekend = share("charge", schedule=WEEKEND)
    saturday_morning = datetime(2026, 6, 6, 6, 30, tzinfo=UTC)  # 08:30 in Oslo (summer)
    assert at_moment([weekend], saturday_morning).level == "charge"
    friday = at_moment([weekend], START)
    assert friday.level is None
    assert friday.upcoming == {"level": "charge",
                               "next_start": datetime(2026, 6, 6, 6, tzinfo=UTC)}


def test_a_list_entry_says_whether_it_is_in_effect_now():
    entry = {"charger_id": "c", "level": "manage", "why": [BOUNDED, MEMBER]}
    assert listed(entry, START - timedelta(hours=1)) == {**entry, "level": "charge",
                                                         "in_effect": True}
    assert listed(entry, START) == {**entry, "in_effect": True}
    alone = {"charger_id": "c", "level": "manage", "why": [BOUNDED]}
    assert listed(alone, END) == {**alone, "in_effect": False}
    plain = {"charger_id": "c", "level": "charge", "why": [MEMBER]}
    assert listed(plain, END) == {**plain, "in_effect": True}


def test_the_remembered_span_answers_as_the_arithmetic_forward_and_back():
    window = window_of(share(valid_until=(START + timedelta(days=9)).isoformat(),
                             schedule=WEEKEND))
    assert window is not None
    rng = random.Random(13)
    at = START - timedelta(days=1)
    for _ in range(2000):
        at += timedelta(minutes=rng.choice([1, 7, 59, 60, 61, 600]) * rng.choice([1, 1, 1, -3]))
        assert effect(window, at) == (in_effect(window, at), next_change(window, at)), at
