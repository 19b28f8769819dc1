"""`make bench BENCH_ARGS='--only …'`: the measures asked for and the ones they need."""

from __future__ import annotations

import pytest

from bench.__main__ import parse_args
from bench.selection import MEASURES, select
from bench.stats import Target


def test_nothing_asked_is_everything() -> None:
    assert select("") == MEASURES


def test_one_measure_alone_in_any_case() -> None:
    assert select("p7") == ("P7",)
    assert select(" P3 , p7 ") == ("P3", "P7")


def test_measures_bring_what_they_need_in_order() -> None:
    assert select("p2") == ("P1", "P2")
    assert select("P6,p4") == ("P1", "P3", "P4", "P6")
    assert select("p8") == ("P1", "P8")
    assert select("p5") == ("P1", "P5")


def test_an_unknown_measure_is_refused_by_name() -> None:
    with pytest.raises(ValueError, match="P9"):
        select("p1,p9")
    with pytest.raises(SystemExit):
        parse_args(["--only", "p9"])
    assert parse_args(["--only", "p7", "--quick"]).measures == ("P7",)


def test_a_ratio_target_names_what_it_is_a_ratio_of() -> None:
    assert Target("ratio", ">=", 0.5).text("req/s") == ">= 0.5x raw"
    assert Target("ratio", ">=", 1 / 1.5, "permanent").text("req/s") == ">= 0.667x permanent"
    assert Target("ratio", "<=", 1.5, "permanent").text("ms") == "<= 1.5x permanent"
