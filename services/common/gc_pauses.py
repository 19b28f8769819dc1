"""How long the garbage collector stops the process, as a Prometheus histogram
(`python_gc_pause_seconds{generation}`) in each service's `/metrics`.

Why: a full collection stops every thread while it walks every object the process made
since it started. Under load the command side's took up to 168 ms each, 13-14 of them in
four minutes, and nothing showed it but a probe (docs/performance.md, "Full
collections"). prometheus_client's own GC collector counts collections, not their time.

The collector calls `timed` itself, in whatever thread set it off, possibly inside
another metric's lock: it takes no lock and only adds to plain numbers, which a scrape
reads.
"""

from __future__ import annotations

import bisect
import gc
import itertools
import time
from collections.abc import Callable, Iterator

from prometheus_client import CollectorRegistry
from prometheus_client.core import HistogramMetricFamily, Metric

BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
"""Seconds: a young collection takes well under a millisecond, a full one of a busy
command side a tenth of a second and more."""
GENERATIONS = 3


class CollectorPauses:
    def __init__(self, clock: Callable[[], float] = time.perf_counter) -> None:
        self._clock = clock
        self._started = 0.0
        self._counts = [[0] * (len(BUCKETS) + 1) for _ in range(GENERATIONS)]
        """Per generation, per bucket (the last: past every bound), not yet cumulative."""
        self._sums = [0.0] * GENERATIONS

    def timed(self, phase: str, info: dict[str, int]) -> None:
        """The hook in `gc.callbacks`: called at the start and the stop of a collection."""
        now = self._clock()
        if phase == "start":
            self._started = now
            return
        seconds = now - self._started
        generation = info["generation"]
        self._sums[generation] += seconds
        self._counts[generation][bisect.bisect_left(BUCKETS, seconds)] += 1

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "python_gc_pause_seconds",
            "Time the garbage collector stopped the process, by generation (2: a full "
            "collection).", labels=["generation"])
        for generation in range(GENERATIONS):
            cumulative = list(itertools.accumulate(self._counts[generation]))
            buckets = [(repr(bound), float(count)) for bound, count in zip(BUCKETS, cumulative,
                                                                           strict=False)]
            buckets.append(("+Inf", float(cumulative[-1])))
            family.add_metric([str(generation)], buckets, self._sums[generation])
        yield family


_PROCESS: CollectorPauses | None = None


def register(registry: CollectorRegistry) -> None:
    """Put the process's pauses (timed from the first call on) in `registry`."""
    global _PROCESS  # noqa: PLW0603 - one gc callback per process, however many registries
    if _PROCESS is None:
        _PROCESS = CollectorPauses()
        gc.callbacks.append(_PROCESS.timed)
    registry.register(_PROCESS)
