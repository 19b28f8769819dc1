"""The fleet generator's plan: fleets of 50-5 000 chargers adding up to the size asked
for, in time slots that follow each other and end before the quiet days; sizes on the
command line."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bench.fleet.__main__ import events
from bench.fleet.generate import EVENTS_PER_CHARGER, QUIET_DAYS, plan_fleets
from bench.fleet.tally import Tally
from bench.fleet.world import World

ENDS_AT = datetime(2026, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize("size", [1_500, 100_000, 1_000_000, 10_000_000])
def test_fleets_add_up_to_the_size(size: int) -> None:
    plans = plan_fleets(3, size, ENDS_AT)

    chargers = [p.chargers for p in plans]
    assert all(50 <= n <= 5000 for n in chargers)
    assert len(plans) >= 2
    assert abs(sum(chargers) * EVENTS_PER_CHARGER - size) <= 50 * EVENTS_PER_CHARGER
    assert [p.index for p in plans] == list(range(len(plans)))


def test_time_slots_follow_each_other_and_end_before_the_quiet_days() -> None:
    plans = plan_fleets(3, 1_000_000, ENDS_AT)

    starts = [p.start for p in plans]
    assert starts == sorted(starts)
    assert len(set(starts)) == len(starts)
    assert starts[-1] < ENDS_AT - timedelta(days=QUIET_DAYS)


def test_a_seed_gives_one_plan() -> None:
    assert plan_fleets(3, 1_000_000, ENDS_AT) == plan_fleets(3, 1_000_000, ENDS_AT)
    assert plan_fleets(3, 1_000_000, ENDS_AT) != plan_fleets(4, 1_000_000, ENDS_AT)


def test_the_first_fleet_is_the_biggest_the_budget_allows() -> None:
    assert plan_fleets(3, 10_000_000, ENDS_AT)[0].chargers == 5000
    assert plan_fleets(3, 1_500, ENDS_AT)[0].chargers == 1_500 // EVENTS_PER_CHARGER // 2


@pytest.mark.parametrize(("text", "number"), [
    ("2500", 2500), ("100k", 100_000), ("1M", 1_000_000), ("2.5m", 2_500_000)])
def test_sizes_on_the_command_line(text: str, number: int) -> None:
    assert events(text) == number


def test_windows_start_and_end_after_the_history_and_some_come_within_a_day() -> None:
    """No boundary or ending notice (a day before the end) inside the history, whose
    events are the scheduler's; a live fleet's next day holds a few (starts within 20
    days, ends within a year, to the minute)."""
    world = World(writer=None, tally=Tally(), ends_at=ENDS_AT, index=0,  # type: ignore[arg-type]
                  rng=random.Random(5))
    windows = [w for w in (world.window() for _ in range(20_000)) if w]
    day, notice = timedelta(days=1), timedelta(hours=24)

    firsts = []
    for w in windows:
        start, end = w.get("valid_from"), w["valid_until"]
        assert start is None or ENDS_AT < start <= ENDS_AT + timedelta(days=20)
        assert end - notice > max(ENDS_AT, start or ENDS_AT)
        assert end <= (start or ENDS_AT) + timedelta(days=366)
        firsts.append(min(start or end - notice, end - notice))
    assert 0.4 < len(windows) / 20_000 < 0.6
    within_a_day = sum(1 for t in firsts if t <= ENDS_AT + day) / len(windows)
    assert 0.01 < within_a_day < 0.04
    assert len({t.minute for t in firsts}) == 60  # spread over the day, not on the hour
