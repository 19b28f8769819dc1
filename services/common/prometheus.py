"""Prometheus' text exposition format (0.0.4) for both services' `/metrics` (and the gateway's).

Counters the parts already keep (plain ints, free on the hot path) are written at scrape
time with `metric`/`family`; histograms and the process metrics live in a prometheus_client
registry (`collected`). One writer for both, so every value prints the same way: whole
numbers in full, where prometheus_client's own exposition would print `1.234567e+06`.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, ProcessCollector

from services.common import gc_pauses

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

Sample = tuple[dict[str, str], float]
"""One sample of a family: its labels and its value."""


class MetricsText:
    """The lines of one scrape, metric by metric, in the order they are written."""

    def __init__(self) -> None:
        self._lines: list[str] = []

    def metric(self, name: str, kind: str, help_: str, value: float) -> None:
        self.family(name, kind, help_, [({}, value)])

    def family(self, name: str, kind: str, help_: str, samples: list[Sample]) -> None:
        self._lines.append(f"# HELP {name} {help_}")
        self._lines.append(f"# TYPE {name} {kind}")
        for labels, value in samples:
            self._lines.append(f"{name}{_labels(labels)} {_number(value)}")

    def collected(self, registry: CollectorRegistry) -> None:
        """Every family of a prometheus_client registry (histograms, process metrics)."""
        for family in registry.collect():
            # prometheus_client names a counter without its `_total`; its samples have it.
            name = f"{family.name}_total" if family.type == "counter" else family.name
            self._lines.append(f"# HELP {name} {family.documentation}")
            self._lines.append(f"# TYPE {name} {family.type}")
            for sample in family.samples:
                if not sample.name.endswith("_created"):  # the process start says as much
                    self._lines.append(
                        f"{sample.name}{_labels(sample.labels)} {_number(sample.value)}")

    def text(self) -> str:
        return "\n".join(self._lines) + "\n"


def _labels(labels: dict[str, str]) -> str:
    if not labels:
        return ""
    inner = ",".join(f'{k}="{_escape(v)}"' for k, v in labels.items())
    return "{" + inner + "}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    """Whole numbers in full (a counter past a million keeps every digit), others as repr."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def service_registry() -> CollectorRegistry:
    """A registry of one service's own histograms, with the process metrics (CPU, memory,
    open files) and its garbage collector's pauses (`gc_pauses`) already in it; not the
    global one, so two services in one test process keep theirs apart."""
    registry = CollectorRegistry(auto_describe=True)
    ProcessCollector(registry=registry)
    gc_pauses.register(registry)
    return registry


LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
                   5.0, 10.0)
"""Seconds: from a half-millisecond check to a command stuck behind a retried batch."""
