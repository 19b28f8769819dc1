"""The garbage collector's pauses in `/metrics`: each collection timed into its
generation's buckets, as Prometheus' histogram rules have it, and a real full collection
of this process seen in a service's registry."""

from __future__ import annotations

import gc

from services.common.gc_pauses import BUCKETS, CollectorPauses
from services.common.prometheus import MetricsText, service_registry


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def samples(pauses: CollectorPauses) -> dict[tuple[str, str, str], float]:
    """(sample name, generation, le) -> value."""
    [family] = list(pauses.collect())
    return {(s.name, s.labels["generation"], s.labels.get("le", "")): s.value
            for s in family.samples}


def test_each_pause_lands_in_its_generations_buckets() -> None:
    clock = Clock()
    pauses = CollectorPauses(clock)
    taken = {0: [0.0004, 0.0009, 0.003], 2: [0.12, 2.0]}
    for generation, durations in taken.items():
        for seconds in durations:
            pauses.timed("start", {"generation": generation})
            clock.now += seconds
            pauses.timed("stop", {"generation": generation, "collected": 0})

    seen = samples(pauses)
    for generation in ("0", "1", "2"):
        durations = taken.get(int(generation), [])
        for bound in BUCKETS:  # written out from the rule: observations at or under `le`
            expected = sum(1 for d in durations if d <= bound + 1e-12)
            assert seen["python_gc_pause_seconds_bucket", generation, repr(bound)] == expected
        assert seen["python_gc_pause_seconds_bucket", generation, "+Inf"] == len(durations)
        assert seen["python_gc_pause_seconds_count", generation, ""] == len(durations)
        assert abs(seen["python_gc_pause_seconds_sum", generation, ""] - sum(durations)) < 1e-9


def test_a_full_collection_of_this_process_shows_in_a_services_metrics() -> None:
    registry = service_registry()

    def full_collections() -> float:
        out = MetricsText()
        out.collected(registry)
        line = next(line for line in out.text().splitlines()
                    if line.startswith('python_gc_pause_seconds_count{generation="2"}'))
        return float(line.split()[-1])

    before = full_collections()
    gc.collect()
    assert full_collections() >= before + 1
