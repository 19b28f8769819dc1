"""The benchmark's arithmetic and formatting (no timing here: figures are never asserted)."""

from __future__ import annotations

import json
import math

import pytest

from bench.stats import (
    Row,
    Target,
    fmt_number,
    median,
    percentile,
    ratio,
    render_table,
    report_json,
    spread,
)


def test_median_percentile_and_spread() -> None:
    assert median([3.0, 1.0, 2.0]) == 2.0
    assert median([4.0, 1.0, 2.0, 3.0]) == 2.5
    assert percentile([10.0, 20.0, 30.0, 40.0, 50.0], 50) == 30.0
    assert percentile([10.0, 20.0], 99) == pytest.approx(19.9)
    assert percentile([7.0], 99) == 7.0
    assert math.isnan(percentile([], 50))
    assert spread([90.0, 100.0, 110.0]) == pytest.approx(0.2)
    assert spread([5.0]) == 0.0


def test_ratio_is_measured_over_baseline_and_nan_without_one() -> None:
    assert ratio(50.0, 200.0) == 0.25
    assert math.isnan(ratio(1.0, 0.0))
    assert math.isnan(ratio(1.0, math.nan))


def test_row_uses_medians_and_checks_its_target() -> None:
    row = Row("P1", "commands", "cmd/s", [900.0, 1000.0, 1200.0], [2000.0, 1800.0, 2200.0],
              "raw", "higher", Target("ratio", ">=", 0.5))
    assert row.median == 1000.0
    assert row.baseline_median == 2000.0
    assert row.ratio == 0.5
    assert row.met is True
    latency = Row("P3", "p99", "ms", [2.5, 3.0, 2.1], [0.2, 0.1, 0.3], "raw", "lower",
                  Target("value", "<=", 2.0))
    assert latency.met is False
    assert Row("P6", "x", "MB", [1.0]).met is None


def test_table_has_a_line_per_row_with_figures_ratio_and_verdict() -> None:
    rows = [
        Row("P1", "commands", "cmd/s", [900.0, 1000.0, 1200.0], [2000.0, 1800.0, 2200.0],
            "raw inserts", "higher", Target("ratio", ">=", 0.5)),
        Row("P4", "rebuild", "events/s", [25_000.0, 31_000.0, 29_000.0], [], "", "higher",
            Target("value", ">=", 30_000.0)),
    ]
    lines = render_table(rows).splitlines()
    assert len(lines) == 4
    assert len({len(line) for line in lines}) == 1  # columns line up
    assert "| P1 " in lines[2]
    assert "1.00k" in lines[2]
    assert "0.50x" in lines[2]
    assert ">= 0.5x raw" in lines[2]
    assert "yes" in lines[2]
    assert "29.0k" in lines[3]
    assert "NO" in lines[3]


def test_json_report_is_strict_json_with_nulls_for_missing_figures() -> None:
    rows = [Row("P2", "p99", "ms", [10.0, 12.0, 11.0], [1.0, 2.0, math.nan], "kafka", "lower",
                Target("value", "<=", 50.0)),
            Row("P5", "dups", "mails", [0.0])]
    report = json.loads(report_json(rows, {"when": "now"}))
    first, second = report["rows"]
    assert report["when"] == "now"
    assert first["median"] == 11.0
    assert first["min"] == 10.0
    assert first["max"] == 12.0
    assert first["baseline"]["values"][2] is None
    assert first["met"] is True
    assert first["target"] == "<= 50 ms"
    assert second["ratio"] is None
    assert second["baseline"]["median"] is None


def test_number_format_is_short_and_never_scientific() -> None:
    assert [fmt_number(v) for v in (0.1234, 1.234, 12.34, 123.4, 1234.0, 12_345.0, 123_456.0)] == [
        "0.123", "1.23", "12.3", "123", "1.23k", "12.3k", "123k"]
    assert fmt_number(math.nan) == "-"
