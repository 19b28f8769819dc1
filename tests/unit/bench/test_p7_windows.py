"""P7's time-bound shares: which grants, which windows, and that the projection's own fold
turns them into time-bound shares answering as a time-bound share does."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from bench.p3_check import grant
from bench.p7_windows import (
    DISTINCT_SCHEDULES,
    TIME_ZONE,
    is_scheduled,
    is_timebound,
    log_records,
    permanent_number,
    schedule_of,
    timebound_numbers,
    window_of,
)
from services.access.api.moment import at_moment
from services.access.domain.windows import Window, in_effect
from services.access.projection.changes import fold_logged

NOW = datetime(2026, 11, 24, 9, 30, tzinfo=UTC)


def test_a_tenth_of_the_grants_are_time_bound_half_of_them_scheduled() -> None:
    numbers = timebound_numbers(1_000_000)
    assert len(numbers) == 100_000
    assert all(is_timebound(g) for g in numbers)
    assert sum(1 for g in numbers if is_scheduled(g)) == 50_000
    assert sum(1 for g in range(1000) if is_timebound(g)) == 100


def test_permanent_numbers_are_exactly_the_other_grants_in_order() -> None:
    expected = [g for g in range(2000) if not is_timebound(g)]
    assert [permanent_number(i) for i in range(len(expected))] == expected


def test_schedules_are_weekly_in_oslo_varied_and_split_at_midnight() -> None:
    schedules = {repr(schedule_of(g)) for g in timebound_numbers(1_000_000) if is_scheduled(g)}
    assert len(schedules) == DISTINCT_SCHEDULES
    late = next(schedule_of(g) for g in timebound_numbers(1_000_000)
                if is_scheduled(g) and len(schedule_of(g)["windows"]) == 2)
    evening, morning = late["windows"]
    assert late["time_zone"] == TIME_ZONE
    assert (evening["until"], morning["from"]) == ("24:00", "00:00")
    assert morning["days"] != evening["days"]


def test_bounded_windows_are_in_effect_for_a_week_each_with_bounds_of_its_own() -> None:
    bounded = [g for g in timebound_numbers(10_000) if not is_scheduled(g)][:50]
    windows = [window_of(g, NOW) for g in bounded]
    assert len({(w["valid_from"], w["valid_until"]) for w in windows}) == len(bounded)
    for w in windows:
        window = Window(w["valid_from"], w["valid_until"])
        assert in_effect(window, NOW)
        assert in_effect(window, NOW + timedelta(days=7))


def test_the_projection_folds_them_into_time_bound_shares_that_check_by_their_window() -> None:
    chosen = list(timebound_numbers(1000))[:4]
    records = list(log_records(((g, *grant(g)) for g in chosen), NOW))
    changes = fold_logged(records)
    assert not changes.skipped_types
    assert set(changes.touched_pairs) == {(c, u) for _, (u, c) in
                                          ((g, grant(g)) for g in chosen)}
    for g in chosen:
        user, charger = grant(g)
        share = changes.shares[(charger, user)]
        assert share is not None
        assert share.level == "charge"
        assert share.why["source"] == "share"
        uuid.UUID(share.why["invitation_id"])
        # The access row's reason is the share's `why` with its level (access.py's SQL).
        moment = at_moment([{**share.why, "level": share.level}], NOW)
        if is_scheduled(g):
            assert share.schedule == schedule_of(g)
            assert share.valid_from is None
            assert share.valid_until is None
            assert (moment.level is None) == (moment.upcoming is not None)
        else:
            assert share.schedule is None
            assert share.valid_until is not None
            assert share.valid_until > NOW
            assert (share.in_effect, moment.level, moment.upcoming) == (True, "charge", None)
