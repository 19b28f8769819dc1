"""The new baselines' arithmetic and goals: P1 against the eventsourcing peer (>= 3x) and
the latency floor (<= 1.5x), P3 against the HTTP floor (>= 0.8x), P4 against reading and
decoding the log (>= 0.5x), each judged on the ratio measured in the same run."""

from __future__ import annotations

import math

from bench.__main__ import parse_args
from bench.latency_floor import floor
from bench.stats import Row, Target
from bench.verdict import judge


def test_the_floor_is_two_median_round_trips_and_one_median_commit() -> None:
    trips = [0.004, 0.002, 0.003, 0.050]  # median 0.0035 s: one outlier does not move it
    commits = [0.001, 0.003, 0.002]
    assert math.isclose(floor(trips, commits), 2 * 0.0035 + 0.002)


def test_no_figures_give_no_floor() -> None:
    assert math.isnan(floor([], [0.001]))


def _row(values: list[float], baseline: list[float], better: str, target: Target) -> Row:
    return Row("P1", "measure", "u", values, baseline, "base", better,  # type: ignore[arg-type]
               target)


def test_p1_throughput_is_met_at_three_times_the_peer_and_missed_below() -> None:
    goal = Target("ratio", ">=", 3.0, of="peer")
    assert _row([3000.0], [1000.0], "higher", goal).met is True
    missed = _row([2900.0], [1000.0], "higher", goal)
    assert missed.met is False
    [line] = judge([missed]).lines()
    assert "2.90x peer" in line
    assert ">= 3x peer" in line


def test_the_lone_latency_goal_is_an_upper_bound_on_the_ratio_to_the_floor() -> None:
    goal = Target("ratio", "<=", 1.5, of="floor")
    assert _row([15.0], [10.0], "lower", goal).met is True
    assert _row([15.1], [10.0], "lower", goal).met is False
    assert goal.text("ms") == "<= 1.5x floor"


def test_p3_and_p4_ratios_name_their_baselines() -> None:
    p3 = _row([799.0], [1000.0], "higher", Target("ratio", ">=", 0.8, of="floor"))
    p4 = _row([500.0], [1000.0], "higher", Target("ratio", ">=", 0.5, of="read"))
    assert p3.met is False
    assert p4.met is True
    assert judge([p3, p4]).lines() == [
        "goal missed: P1 measure: 0.80x floor (799 vs 1.00k u), goal >= 0.8x floor"]


def test_p4_can_be_pointed_at_another_database() -> None:
    assert parse_args(["--p4-database", "postgresql://x/fleet"]).p4_database == \
        "postgresql://x/fleet"
    assert parse_args([]).p4_database is None
