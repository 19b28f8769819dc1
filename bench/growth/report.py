"""What a growth run reports: a row per read and size judged against the smallest size of
the same run, and the curves."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import matplotlib

from bench.growth.fleets import size_label
from bench.stats import Row, Target, median

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

GROWTH_LIMIT = 1.5
"""PERFORMANCE.md P7: value at the largest size <= 1.5x the value at the smallest."""
MEMORY_LIMIT_MB = 200.0
"""PERFORMANCE.md P6: each service <= 200 MB RSS (judged at the largest size)."""


@dataclass
class SizeResult:
    size: int
    events: int
    seed_seconds: float | None
    rebuild_events_per_s: float
    p99_ms: dict[str, list[float]]
    rss_mb: dict[str, float]
    """Each service's peak RSS while the reads were asked (at rest)."""
    counts: dict[str, int]
    catch_up_seconds: float = math.nan
    catch_up_rss_mb: dict[str, float] = field(default_factory=dict)
    """Each service's peak RSS while it caught up with the history on a new broker."""
    caught_up: bool = True
    """False: the catch-up was watched only up to the bench's limit."""
    standby: bool = False
    """The reads were asked of a standby access service (`--standby-reads`)."""



def rows_of(results: Sequence[SizeResult]) -> list[Row]:
    """One row per read and size: its p99 against the smallest size's (the goal is judged
    at the largest size only); P4's rate and P6's memory at each size."""
    smallest, largest = results[0], results[-1]
    rows: list[Row] = []
    for result in results:
        label = size_label(result.size)
        judged = result is largest and largest is not smallest
        for name, values in result.p99_ms.items():
            target = Target("ratio", "<=", GROWTH_LIMIT, f"at {size_label(smallest.size)}")
            rows.append(Row("P7", f"{name} p99 at {label}", "ms", values,
                            smallest.p99_ms[name], f"at {size_label(smallest.size)}", "lower",
                            target if judged else None, f"{result.events:,} events"))
        if not math.isnan(result.rebuild_events_per_s):  # read models kept: P4 not run
            rows.append(Row(
                "P4", f"rebuild at {label}", "events/s", [result.rebuild_events_per_s],
                [smallest.rebuild_events_per_s], f"at {size_label(smallest.size)}", "higher",
                Target("ratio", ">=", 0.9, f"at {size_label(smallest.size)}")
                if judged else None, f"{result.events:,} events"))
        reading = " (reads; access standing by)" if result.standby else ""
        for service, mb in sorted(result.rss_mb.items()):
            rows.append(Row("P6", f"{service} peak RSS at {label}{reading}", "MB", [mb], [], "",
                            "lower",
                            Target("value", "<=", MEMORY_LIMIT_MB) if judged else None))
        for service, mb in sorted(result.catch_up_rss_mb.items()):
            rows.append(Row("P6", f"{service} peak RSS catching up at {label}", "MB", [mb], [],
                            "", "lower",
                            Target("value", "<=", MEMORY_LIMIT_MB) if judged else None))
        if not math.isnan(result.catch_up_seconds):
            rows.append(Row("-", f"catching up on a new broker at {label}", "s",
                            [result.catch_up_seconds], [], "", "lower", None,
                            "relay, local lists, e-mails" + (
                                "" if result.caught_up else "; not finished: watched so long")))
    return rows


def plot(results: Sequence[SizeResult], target: Path) -> None:
    """p99 of each read against the log's size, log-scaled, one line per read."""
    figure, axes = plt.subplots(figsize=(8, 5))
    sizes = [r.events for r in results]
    for name in results[0].p99_ms:
        axes.plot(sizes, [median(r.p99_ms[name]) for r in results], marker="o", label=name)
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlabel("events in the log")
    axes.set_ylabel("p99 latency [ms], one keep-alive client")
    axes.set_title("charger-access reads as the fleet grows (P7)")
    axes.grid(True, which="both", alpha=0.3)
    axes.legend(fontsize="small")
    figure.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(target, dpi=100)
    plt.close(figure)
