"""prometheus_client families written by `MetricsText` as the hand-kept counters are: one
HELP and TYPE each, counters under their `_total` name, whole numbers in full."""

from prometheus_client import CollectorRegistry, Counter, Histogram

from services.common.prometheus import MetricsText, service_registry


def test_a_histogram_and_a_counter_are_written_in_the_text_format() -> None:
    registry = CollectorRegistry()
    latency = Histogram("demo_seconds", "How long.", buckets=(0.01, 0.1), registry=registry)
    sent = Counter("demo_sent_total", "How many.", registry=registry)
    latency.observe(0.05)
    latency.observe(0.5)
    sent.inc(1_234_567)
    out = MetricsText()
    out.metric("demo_position", "gauge", "Where.", 3)
    out.collected(registry)
    lines = out.text().splitlines()
    assert lines[:3] == ["# HELP demo_position Where.", "# TYPE demo_position gauge",
                         "demo_position 3"]
    assert "# TYPE demo_seconds histogram" in lines
    assert 'demo_seconds_bucket{le="0.01"} 0' in lines
    assert 'demo_seconds_bucket{le="0.1"} 1' in lines
    assert 'demo_seconds_bucket{le="+Inf"} 2' in lines
    assert "demo_seconds_count 2" in lines
    assert "demo_seconds_sum 0.55" in lines
    assert "# TYPE demo_sent_total counter" in lines
    assert "demo_sent_total 1234567" in lines
    assert not [line for line in lines if "_created" in line]


def test_a_service_registry_has_the_process_metrics() -> None:
    out = MetricsText()
    out.collected(service_registry())
    text = out.text()
    assert "# TYPE process_cpu_seconds_total counter" in text.splitlines()
    resident = [line for line in text.splitlines()
                if line.startswith("process_resident_memory_bytes ")]
    assert int(resident[0].split()[1]) > 1_000_000
