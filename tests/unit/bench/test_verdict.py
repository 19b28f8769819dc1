"""The bench's verdict: goals judged on the run's own figures, each miss named, exit 1
unless `--no-fail`."""

from __future__ import annotations

import math

from bench.__main__ import parse_args
from bench.stats import Row, Target
from bench.verdict import exit_code, judge


def _p5(service: float, raw: float) -> Row:
    return Row(
        "P5",
        "e-mails to aiosmtpd",
        "mail/s",
        [service],
        [raw],
        "aiosmtplib",
        "higher",
        Target("ratio", ">=", 0.7),
    )


def _p2(p99: float) -> Row:
    return Row(
        "P2",
        "publish -> visible, p99",
        "ms",
        [p99],
        [3.0],
        "Kafka",
        "lower",
        Target("value", "<=", 50.0),
    )


def test_all_goals_met_exits_zero_and_names_nothing() -> None:
    verdict = judge([_p5(800.0, 1000.0), _p2(40.0), Row("P6", "no goal", "MB", [900.0])])
    assert verdict.met
    assert verdict.lines() == []
    assert exit_code(verdict, no_fail=False) == 0


def test_a_ratio_below_its_goal_is_named_with_its_figures_and_exits_one() -> None:
    verdict = judge([_p5(600.0, 1000.0), _p2(40.0)])
    assert not verdict.met
    assert [row.key for row in verdict.missed] == ["P5"]
    [line] = verdict.lines()
    assert line.startswith("goal missed: P5 e-mails to aiosmtpd")
    assert "0.60x raw" in line
    assert ">= 0.7x raw" in line
    assert exit_code(verdict, no_fail=False) == 1
    assert exit_code(verdict, no_fail=True) == 0


def test_a_value_over_its_limit_is_missed() -> None:
    [line] = judge([_p2(62.5)]).lines()
    assert line == "goal missed: P2 publish -> visible, p99: 62.5 ms, goal <= 50 ms"


def test_a_goal_without_a_figure_or_a_failed_measure_is_not_met() -> None:
    no_baseline = judge([_p5(800.0, math.nan)])
    assert not no_baseline.met
    assert no_baseline.lines() == ["goal not judged (no figure): P5 e-mails to aiosmtpd"]
    failed = judge([_p2(10.0)], {"P4": "RuntimeError('boom')"})
    assert failed.lines() == ["measure failed: P4 (RuntimeError('boom'))"]
    assert exit_code(failed, no_fail=False) == 1
    assert failed.as_json() == {"met": False, "not_met": failed.lines()}


def test_no_fail_is_a_flag_of_the_command_line() -> None:
    assert parse_args(["--no-fail", "--only", "p5"]).no_fail is True
    assert parse_args([]).no_fail is False
