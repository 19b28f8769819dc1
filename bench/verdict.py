"""Whether a run met PERFORMANCE.md's goals, and which it missed.

Each row's goal (`stats.Target`) is judged on the figures measured in the run, mostly as
a ratio to a baseline taken in the same run. A goal with no figure to judge (a baseline
that failed, a NaN) and a measure that raised are counted as missed: a run that could
not show a goal was met has not met it. `make bench` exits 1 on a miss so CI and
scripts see it; `--no-fail` is for exploring.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from bench.stats import Row, fmt_number, fmt_ratio


@dataclass(frozen=True)
class Verdict:
    missed: list[Row] = field(default_factory=list)
    """Goals the measured figures do not meet."""
    unjudged: list[Row] = field(default_factory=list)
    """Goals without a figure to judge them by."""
    failed: dict[str, str] = field(default_factory=dict)
    """Measures that raised (name -> error): their rows are missing."""

    @property
    def met(self) -> bool:
        return not (self.missed or self.unjudged or self.failed)

    def lines(self) -> list[str]:
        """One line per goal not met, naming the figure and the goal."""
        found = [f"goal missed: {_describe(row)}" for row in self.missed]
        found += [f"goal not judged (no figure): {row.key} {row.name}" for row in self.unjudged]
        found += [f"measure failed: {name} ({error})" for name, error in self.failed.items()]
        return found

    def as_json(self) -> dict[str, object]:
        return {"met": self.met, "not_met": self.lines()}


def judge(rows: Sequence[Row], failed: Mapping[str, str] | None = None) -> Verdict:
    """The verdict of a run's rows (and of the measures that failed)."""
    with_goal = [row for row in rows if row.target is not None]
    return Verdict(
        missed=[row for row in with_goal if row.met is False],
        unjudged=[row for row in with_goal if row.met is None],
        failed=dict(failed or {}),
    )


def exit_code(verdict: Verdict, no_fail: bool) -> int:
    return 0 if verdict.met or no_fail else 1


def _describe(row: Row) -> str:
    assert row.target is not None
    goal = row.target.text(row.unit)
    if row.target.on == "ratio":
        measured = f"{fmt_ratio(row.ratio)} {row.target.of}"
        figures = f"{fmt_number(row.median)} vs {fmt_number(row.baseline_median)} {row.unit}"
        return f"{row.key} {row.name}: {measured} ({figures}), goal {goal}"
    return f"{row.key} {row.name}: {fmt_number(row.median)} {row.unit}, goal {goal}"
