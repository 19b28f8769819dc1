"""Numbers and their presentation: medians, spreads, ratios, the table and the JSON.

Pure functions only (no I/O, no clock), so the smoke test can pin the arithmetic and the
formatting without timing anything.
"""

from __future__ import annotations

import json
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

Better = Literal["higher", "lower"]


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) by linear interpolation between closest ranks."""
    if not values:
        return math.nan
    ordered = sorted(values)
    if len(ordered) == 1:
        return float(ordered[0])
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    fraction = rank - low
    return float(ordered[low] + (ordered[high] - ordered[low]) * fraction)


def median(values: Sequence[float]) -> float:
    return float(statistics.median(values)) if values else math.nan


def spread(values: Sequence[float]) -> float:
    """Relative spread of the repetitions: (max - min) / median, 0 for one value."""
    if len(values) < 2:
        return 0.0
    mid = median(values)
    if mid == 0 or math.isnan(mid):
        return math.nan
    return (max(values) - min(values)) / abs(mid)


def ratio(measured: float, baseline: float) -> float:
    """measured / baseline; NaN when there is no usable baseline."""
    if baseline == 0 or math.isnan(baseline) or math.isnan(measured):
        return math.nan
    return measured / baseline


@dataclass(frozen=True)
class Target:
    """A goal from PERFORMANCE.md: on the figure itself, or on the ratio to the baseline
    (`of` names the baseline in the table: raw, or the figure it is compared with)."""

    on: Literal["value", "ratio"]
    op: Literal[">=", "<="]
    limit: float
    of: str = "raw"

    def met(self, value: float, ratio_: float) -> bool | None:
        subject = value if self.on == "value" else ratio_
        if math.isnan(subject):
            return None
        return subject >= self.limit if self.op == ">=" else subject <= self.limit

    def text(self, unit: str) -> str:
        if self.on == "ratio":
            return f"{self.op} {self.limit:.3g}x {self.of}"
        return f"{self.op} {self.limit:g} {unit}"


@dataclass
class Row:
    """One line of the table: repetitions of our figure and of its baseline (raw, a peer
    or a floor), measured in the same run."""

    key: str
    name: str
    unit: str
    values: list[float]
    baseline: list[float] = field(default_factory=list)
    baseline_name: str = ""
    better: Better = "higher"
    target: Target | None = None
    note: str = ""

    @property
    def median(self) -> float:
        return median(self.values)

    @property
    def spread(self) -> float:
        return spread(self.values)

    @property
    def baseline_median(self) -> float:
        return median(self.baseline)

    @property
    def ratio(self) -> float:
        return ratio(self.median, self.baseline_median)

    @property
    def met(self) -> bool | None:
        return None if self.target is None else self.target.met(self.median, self.ratio)

    def as_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "name": self.name,
            "unit": self.unit,
            "better": self.better,
            "values": [_finite(v) for v in self.values],
            "median": _finite(self.median),
            "min": _finite(min(self.values)) if self.values else None,
            "max": _finite(max(self.values)) if self.values else None,
            "spread": _finite(self.spread),
            "baseline": {
                "name": self.baseline_name,
                "values": [_finite(v) for v in self.baseline],
                "median": _finite(self.baseline_median),
            },
            "ratio": _finite(self.ratio),
            "target": None if self.target is None else self.target.text(self.unit),
            "met": self.met,
            "note": self.note,
        }


def _finite(value: float) -> float | None:
    """JSON has no NaN: missing figures are null."""
    return None if math.isnan(value) or math.isinf(value) else round(value, 6)


_DECIMALS = ((100.0, 0), (10.0, 1), (1.0, 2))


def fmt_number(value: float) -> str:
    """Three significant figures, thousands as k, no scientific notation."""
    if math.isnan(value):
        return "-"
    magnitude = abs(value)
    if value == 0:
        return "0"
    scaled, suffix = (value / 1000, "k") if magnitude >= 1000 else (value, "")
    for floor, decimals in _DECIMALS:
        if abs(scaled) >= floor:
            return f"{scaled:.{decimals}f}{suffix}"
    return f"{scaled:.3f}{suffix}"


def fmt_ratio(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.2f}x"


def fmt_spread(row: Row) -> str:
    if not row.values:
        return "-"
    low, high = min(row.values), max(row.values)
    percent = "" if math.isnan(row.spread) else f" ±{row.spread * 50:.0f}%"
    return f"{fmt_number(low)}..{fmt_number(high)}{percent}"


HEADERS = ("", "measure", "median", "spread (n)", "baseline", "ratio", "target", "met")


def table_cells(row: Row) -> tuple[str, ...]:
    met = {True: "yes", False: "NO", None: "-"}[row.met]
    baseline = fmt_number(row.baseline_median)
    if row.baseline_name and row.baseline:
        baseline = f"{baseline} ({row.baseline_name})"
    return (
        row.key,
        f"{row.name} [{row.unit}]",
        fmt_number(row.median),
        f"{fmt_spread(row)} ({len(row.values)})",
        baseline,
        fmt_ratio(row.ratio),
        row.target.text(row.unit) if row.target else "-",
        met,
    )


def render_table(rows: Sequence[Row]) -> str:
    """A Markdown table (readable as plain text too)."""
    cells = [HEADERS, *(table_cells(r) for r in rows)]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADERS))]

    def line(values: Sequence[str]) -> str:
        return "| " + " | ".join(v.ljust(w) for v, w in zip(values, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(c) for c in cells[1:])])


def report_json(rows: Sequence[Row], meta: dict[str, Any]) -> str:
    return json.dumps({**meta, "rows": [r.as_json() for r in rows]}, indent=2, default=str)
