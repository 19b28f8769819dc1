"""The window arithmetic: bounds, weekly schedules in wall-clock time, daylight saving."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from services.access.domain.weekly import Schedule, WeeklyWindow
from services.access.domain.windows import (
    PERMANENT,
    Window,
    changes,
    in_effect,
    next_change,
    next_start,
    period_end,
    wall_instant,
)

OSLO = ZoneInfo("Europe/Oslo")
# 2025: clocks spring forward on Sunday 30 March at 02:00 (-> 03:00) and fall back on
# Sunday 26 October at 03:00 (-> 02:00). Both at 01:00 UTC.
SPRING = datetime(2025, 3, 30, 1, 0, tzinfo=UTC)
FALL = datetime(2025, 10, 26, 1, 0, tzinfo=UTC)
TICK = timedelta(microseconds=1)


def oslo(*args: int, fold: int = 0) -> datetime:
    """An Oslo wall time as a UTC instant (fold=1: the second of a repeated hour)."""
    return datetime(*args, tzinfo=OSLO, fold=fold).astimezone(UTC)  # type: ignore[misc]


def weekly(*windows: tuple[list[str], str, str], zone: str = "Europe/Oslo") -> Schedule:
    return Schedule.from_data({"time_zone": zone, "windows": [
        {"days": days, "from": start, "until": until} for days, start, until in windows]})


def flips(w: Window, after: datetime, days: int) -> list[tuple[datetime, bool]]:
    return list(changes(w, after, after + timedelta(days=days)))


# -- bounds only ------------------------------------------------------------------------


def test_a_permanent_share_is_always_in_effect_and_never_changes() -> None:
    t = datetime(2025, 6, 1, tzinfo=UTC)
    assert PERMANENT.permanent
    assert in_effect(PERMANENT, t)
    assert next_change(PERMANENT, t) is None
    assert period_end(PERMANENT, t) is None
    assert next_start(PERMANENT, t) == t
    assert flips(PERMANENT, t, 400) == []


def test_bounds_are_from_inclusive_until_exclusive() -> None:
    start, end = datetime(2025, 6, 1, 12, tzinfo=UTC), datetime(2025, 6, 8, 12, tzinfo=UTC)
    w = Window(valid_from=start, valid_until=end)
    assert not in_effect(w, start - TICK)
    assert in_effect(w, start)
    assert in_effect(w, end - TICK)
    assert not in_effect(w, end)
    assert next_change(w, start - timedelta(days=3)) == start
    assert next_change(w, start) == end
    assert next_change(w, end) is None
    assert period_end(w, start) == end
    assert next_start(w, start - timedelta(days=1)) == start
    assert next_start(w, end) is None
    assert flips(w, start - timedelta(days=1), 30) == [(start, True), (end, False)]


def test_bounds_keep_their_instant_whatever_the_offset_they_were_given_in() -> None:
    start = datetime(2025, 6, 1, 14, tzinfo=OSLO)  # 12:00 UTC
    w = Window(valid_from=start)
    assert not in_effect(w, datetime(2025, 6, 1, 11, 59, tzinfo=UTC))
    assert in_effect(w, datetime(2025, 6, 1, 12, tzinfo=UTC))
    [(at, on)] = flips(w, datetime(2025, 6, 1, tzinfo=UTC), 1)
    assert (at, at.tzinfo, on) == (datetime(2025, 6, 1, 12, tzinfo=UTC), UTC, True)
    assert period_end(w, at) is None


def test_only_an_until_bound_ends_once() -> None:
    end = datetime(2025, 6, 8, 12, tzinfo=UTC)
    w = Window(valid_until=end)
    assert in_effect(w, datetime(2000, 1, 1, tzinfo=UTC))
    assert next_change(w, datetime(2000, 1, 1, tzinfo=UTC)) == end
    assert flips(w, end - TICK, 1) == [(end, False)]
    assert flips(w, end, 1) == []


def test_naive_instants_are_refused() -> None:
    with pytest.raises(ValueError, match="UTC offset"):
        in_effect(PERMANENT, datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="UTC offset"):
        Window(valid_until=datetime(2025, 1, 1))


# -- weekly schedules -------------------------------------------------------------------


def test_a_weekend_schedule_flips_at_its_wall_clock_times() -> None:
    w = Window(schedule=weekly((["sat", "sun"], "08:00", "20:00")))
    friday = oslo(2025, 6, 6, 12)
    assert flips(w, friday, 7) == [
        (oslo(2025, 6, 7, 8), True), (oslo(2025, 6, 7, 20), False),
        (oslo(2025, 6, 8, 8), True), (oslo(2025, 6, 8, 20), False),
    ]
    assert not in_effect(w, friday)
    assert in_effect(w, oslo(2025, 6, 7, 8))
    assert not in_effect(w, oslo(2025, 6, 7, 20))
    assert next_start(w, friday) == oslo(2025, 6, 7, 8)
    assert period_end(w, oslo(2025, 6, 8, 9)) == oslo(2025, 6, 8, 20)


def test_windows_across_midnight_and_the_week_wrap_are_one_period() -> None:
    w = Window(schedule=weekly((["sun"], "22:00", "24:00"), (["mon"], "00:00", "06:00"),
                               (["fri"], "20:00", "24:00"), (["sat"], "00:00", "02:00")))
    thursday = oslo(2025, 6, 5, 12)
    assert flips(w, thursday, 7) == [
        (oslo(2025, 6, 6, 20), True), (oslo(2025, 6, 7, 2), False),
        (oslo(2025, 6, 8, 22), True), (oslo(2025, 6, 9, 6), False),
    ]
    assert in_effect(w, oslo(2025, 6, 9, 0))  # midnight between sunday and monday
    assert period_end(w, oslo(2025, 6, 8, 23)) == oslo(2025, 6, 9, 6)
    assert next_change(w, oslo(2025, 6, 8, 23, 59)) == oslo(2025, 6, 9, 6)


def test_overlapping_windows_merge() -> None:
    w = Window(schedule=weekly((["wed"], "08:00", "12:00"), (["wed"], "10:00", "14:00"),
                               (["wed"], "14:00", "15:00")))
    assert flips(w, oslo(2025, 6, 10, 0), 7) == [
        (oslo(2025, 6, 11, 8), True), (oslo(2025, 6, 11, 15), False)]


def test_until_2400_is_the_midnight_ending_the_day() -> None:
    w = Window(schedule=weekly((["mon"], "18:00", "24:00")))
    monday = oslo(2025, 6, 9, 12)
    assert flips(w, monday, 2) == [(oslo(2025, 6, 9, 18), True), (oslo(2025, 6, 10, 0), False)]
    assert in_effect(w, oslo(2025, 6, 10, 0) - TICK)
    assert not in_effect(w, oslo(2025, 6, 10, 0))


def test_a_schedule_covering_the_whole_week_only_leaves_the_bounds() -> None:
    end = datetime(2025, 6, 20, tzinfo=UTC)
    w = Window(valid_until=end, schedule=weekly(
        (["mon", "tue", "wed", "thu", "fri"], "00:00", "24:00"), (["sat", "sun"], "00:00", "24:00")))
    assert in_effect(w, datetime(2025, 6, 1, tzinfo=UTC))
    assert next_change(w, datetime(2025, 6, 1, tzinfo=UTC)) == end
    assert period_end(w, datetime(2025, 6, 1, tzinfo=UTC)) == end


def test_bounds_cut_the_schedule() -> None:
    # Weeknights 18-23 from Tuesday 19:00 until Thursday 20:00 (Oslo).
    w = Window(valid_from=oslo(2025, 6, 10, 19), valid_until=oslo(2025, 6, 12, 20),
               schedule=weekly((["mon", "tue", "wed", "thu", "fri"], "18:00", "23:00")))
    assert flips(w, oslo(2025, 6, 9, 0), 14) == [
        (oslo(2025, 6, 10, 19), True), (oslo(2025, 6, 10, 23), False),
        (oslo(2025, 6, 11, 18), True), (oslo(2025, 6, 11, 23), False),
        (oslo(2025, 6, 12, 18), True), (oslo(2025, 6, 12, 20), False),
    ]
    assert not in_effect(w, oslo(2025, 6, 9, 19))  # a window, but before valid_from
    assert not in_effect(w, oslo(2025, 6, 12, 20))
    assert next_change(w, oslo(2025, 6, 12, 20)) is None
    assert next_start(w, oslo(2025, 6, 12, 21)) is None
    assert next_start(w, oslo(2025, 6, 1)) == oslo(2025, 6, 10, 19)
    assert period_end(w, oslo(2025, 6, 12, 19)) == oslo(2025, 6, 12, 20)


def test_a_far_future_start_is_found_without_walking_there_day_by_day() -> None:
    w = Window(valid_from=datetime(2125, 1, 1, tzinfo=UTC),
               schedule=weekly((["mon"], "09:00", "10:00")))
    assert datetime(2125, 1, 1).weekday() == 0  # a Monday
    assert next_change(w, datetime(2025, 1, 1, tzinfo=UTC)) == oslo(2125, 1, 1, 9)


def test_bounds_outside_every_window_never_bring_it_into_effect() -> None:
    w = Window(valid_from=oslo(2025, 6, 10, 0), valid_until=oslo(2025, 6, 11, 0),
               schedule=weekly((["sat"], "10:00", "12:00")))  # the bounds hold a Tuesday only
    assert flips(w, oslo(2025, 6, 1), 30) == []
    assert next_change(w, oslo(2025, 6, 1)) is None
    assert next_start(w, oslo(2025, 6, 1)) is None


# -- daylight saving in Europe/Oslo -----------------------------------------------------


def test_spring_forward_a_window_inside_the_missing_hour_is_empty_that_day() -> None:
    w = Window(schedule=weekly((["sun"], "02:00", "03:00")))
    assert flips(w, SPRING - timedelta(days=1), 2) == []
    assert not in_effect(w, SPRING)
    # The Sunday after, the hour exists again.
    assert flips(w, SPRING + timedelta(days=6), 2) == [
        (oslo(2025, 4, 6, 2), True), (oslo(2025, 4, 6, 3), False)]


def test_spring_forward_a_window_starting_in_the_missing_hour_starts_when_it_ends() -> None:
    w = Window(schedule=weekly((["sun"], "02:30", "04:00")))
    assert flips(w, SPRING - timedelta(days=1), 2) == [
        (SPRING, True), (oslo(2025, 3, 30, 4), False)]
    assert oslo(2025, 3, 30, 3) == SPRING
    assert oslo(2025, 3, 30, 4) - SPRING == timedelta(hours=1)


def test_spring_forward_a_window_ending_in_the_missing_hour_ends_when_it_ends() -> None:
    w = Window(schedule=weekly((["sun"], "01:00", "02:30")))
    assert flips(w, SPRING - timedelta(days=1), 2) == [(oslo(2025, 3, 30, 1), True), (SPRING, False)]
    assert SPRING - oslo(2025, 3, 30, 1) == timedelta(hours=1)


def test_spring_forward_night_window_is_an_hour_shorter() -> None:
    w = Window(schedule=weekly((["sat"], "22:00", "24:00"), (["sun"], "00:00", "06:00")))
    [(start, _), (end, _)] = flips(w, SPRING - timedelta(days=1), 2)
    assert end - start == timedelta(hours=7)


def test_fall_back_a_window_inside_the_repeated_hour_covers_both_passes() -> None:
    w = Window(schedule=weekly((["sun"], "02:30", "02:45")))
    first_0230 = oslo(2025, 10, 26, 2, 30, fold=0)
    second_0245 = oslo(2025, 10, 26, 2, 45, fold=1)
    assert (first_0230, second_0245) == (datetime(2025, 10, 26, 0, 30, tzinfo=UTC),
                                         datetime(2025, 10, 26, 1, 45, tzinfo=UTC))
    assert flips(w, FALL - timedelta(days=1), 2) == [(first_0230, True), (second_0245, False)]
    # 02:10 on the second pass reads outside 02:30-02:45, yet lies inside the one span.
    assert in_effect(w, oslo(2025, 10, 26, 2, 10, fold=1))
    assert not in_effect(w, oslo(2025, 10, 26, 2, 10, fold=0))
    assert period_end(w, first_0230) == second_0245


def test_fall_back_a_window_ending_in_the_repeated_hour_ends_on_its_second_pass() -> None:
    w = Window(schedule=weekly((["sun"], "01:00", "02:30")))
    assert flips(w, FALL - timedelta(days=1), 2) == [
        (oslo(2025, 10, 26, 1), True), (oslo(2025, 10, 26, 2, 30, fold=1), False)]
    assert oslo(2025, 10, 26, 2, 30, fold=1) - oslo(2025, 10, 26, 1) == timedelta(hours=2, minutes=30)


def test_fall_back_a_window_ending_where_the_repeat_begins_ends_on_its_first_pass() -> None:
    # 02:00 occurs twice, but between the two the wall clock reads 02:00-02:59: outside.
    w = Window(schedule=weekly((["sun"], "01:00", "02:00")))
    assert flips(w, FALL - timedelta(days=1), 2) == [
        (oslo(2025, 10, 26, 1), True), (oslo(2025, 10, 26, 2, fold=0), False)]
    assert not in_effect(w, oslo(2025, 10, 26, 2, 30, fold=0))


def test_fall_back_a_window_starting_in_the_repeated_hour_starts_on_its_first_pass() -> None:
    w = Window(schedule=weekly((["sun"], "02:30", "04:00")))
    assert flips(w, FALL - timedelta(days=1), 2) == [
        (oslo(2025, 10, 26, 2, 30, fold=0), True), (oslo(2025, 10, 26, 4), False)]


def test_fall_back_night_window_is_an_hour_longer() -> None:
    w = Window(schedule=weekly((["sat"], "22:00", "24:00"), (["sun"], "00:00", "06:00")))
    [(start, _), (end, _)] = flips(w, FALL - timedelta(days=1), 2)
    assert end - start == timedelta(hours=9)


def test_a_gap_at_midnight_merges_the_windows_around_it() -> None:
    # Chile springs forward at 24:00 on Saturday 6 September 2025 (-> Sunday 01:00).
    w = Window(schedule=weekly((["sat"], "20:00", "24:00"), (["sun"], "00:00", "02:00"),
                               zone="America/Santiago"))
    santiago = ZoneInfo("America/Santiago")
    [(start, on), (end, off)] = flips(w, datetime(2025, 9, 5, tzinfo=UTC), 3)
    assert (start.astimezone(santiago).hour, end.astimezone(santiago).hour) == (20, 2)
    assert end - start == timedelta(hours=5)
    assert (on, off) == (True, False)


def test_wall_instant_reads_gaps_and_repeats_as_the_design_says() -> None:
    spring, fall = SPRING.astimezone(OSLO).date(), FALL.astimezone(OSLO).date()
    assert wall_instant("Europe/Oslo", spring, 150, later=False) == SPRING
    assert wall_instant("Europe/Oslo", spring, 150, later=True) == SPRING
    assert wall_instant("Europe/Oslo", fall, 150, later=False) == datetime(2025, 10, 26, 0, 30, tzinfo=UTC)
    assert wall_instant("Europe/Oslo", fall, 150, later=True) == datetime(2025, 10, 26, 1, 30, tzinfo=UTC)
    assert wall_instant("Europe/Oslo", fall, 120, later=True) == datetime(2025, 10, 26, 0, 0, tzinfo=UTC)
    assert wall_instant("Europe/Oslo", fall, 180, later=True) == FALL + timedelta(hours=1)
    assert wall_instant("Europe/Oslo", fall, 1440, later=True) == oslo(2025, 10, 27, 0)


# -- data -------------------------------------------------------------------------------


def test_window_data_round_trips() -> None:
    data: dict[str, Any] = {
        "valid_from": "2025-06-01T12:00:00+02:00", "valid_until": None,
        "schedule": {"time_zone": "Europe/Oslo",
                     "windows": [{"days": ["sat", "sun"], "from": "08:00", "until": "24:00"}]},
    }
    w = Window.from_data(data)
    assert w.to_data() == data
    assert Window.from_data(w.to_data()) == w
    assert not w.permanent
    assert Window.from_data(None) is PERMANENT
    assert Window.from_data({"valid_from": None, "valid_until": None, "schedule": None}).permanent


def test_windows_equal_by_instant() -> None:
    assert Window(valid_until=datetime(2025, 6, 1, 14, tzinfo=OSLO)) == Window(
        valid_until=datetime(2025, 6, 1, 12, tzinfo=UTC))


@pytest.mark.parametrize(("window", "message"), [
    ({"days": [], "from": "08:00", "until": "09:00"}, "non-empty"),
    ({"days": ["sat", "sat"], "from": "08:00", "until": "09:00"}, "not repeat"),
    ({"days": ["lør"], "from": "08:00", "until": "09:00"}, "unknown day"),
    ({"days": ["sat"], "from": "09:00", "until": "09:00"}, "before"),
    ({"days": ["sat"], "from": "24:00", "until": "24:00"}, "before"),
    ({"days": ["sat"], "from": "8:00", "until": "09:00"}, "wall time"),
    ({"days": ["sat"], "from": "08:00", "until": "24:01"}, "wall time"),
])
def test_bad_weekly_windows_are_refused(window: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        WeeklyWindow.from_data(window)


def test_an_unknown_zone_is_refused() -> None:
    for zone in ("../etc/passwd", "Europe/Atlantis", ""):
        with pytest.raises(ValueError, match="unknown time zone"):
            weekly((["sat"], "08:00", "09:00"), zone=zone)
