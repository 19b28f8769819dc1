"""W3C trace context: what is read from a record, and spans continuing it."""

from __future__ import annotations

import pytest
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from services.common import tracing

PARENT = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"


def test_the_binary_bindings_header_comes_before_a_plain_one() -> None:
    other = "00-" + "1" * 32 + "-" + "2" * 16 + "-00"
    assert tracing.from_headers([("traceparent", other.encode()),
                                 ("ce_traceparent", PARENT.encode())]) == PARENT
    assert tracing.from_headers([("traceparent", other.encode())]) == other
    assert tracing.from_headers([("content-type", b"application/json")]) is None


@pytest.mark.parametrize("value", ["", "00-xyz", PARENT.upper(), "ff" + PARENT[2:], 7, None])
def test_a_malformed_traceparent_is_not_carried_on(value: object) -> None:
    assert tracing.valid(value) is None


def test_without_an_endpoint_no_span_is_made(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_tracer", None)
    monkeypatch.delenv(tracing.ENDPOINT_VARIABLE, raising=False)
    assert tracing.configure("demo") is False
    assert tracing.start("demo", PARENT) is None


def test_a_span_continues_its_parents_trace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tracing, "_tracer", None)
    exporter = InMemorySpanExporter()
    assert tracing.configure("demo-service", SimpleSpanProcessor(exporter))
    span = tracing.start("access.command", PARENT)
    assert span is not None
    child = tracing.traceparent(span)
    span.end()
    assert tracing.trace_id(child) == tracing.trace_id(PARENT)
    assert child.split("-")[2] != PARENT.split("-")[2]
    [finished] = exporter.get_finished_spans()
    assert finished.parent is not None
    assert f"{finished.parent.span_id:016x}" == PARENT.split("-")[2]
    assert finished.resource.attributes["service.name"] == "demo-service"
    root = tracing.start("access.command", None)
    assert root is not None
    assert tracing.trace_id(tracing.traceparent(root)) != tracing.trace_id(PARENT)


def test_recent_traces_keep_only_the_newest() -> None:
    recent = tracing.RecentTraces(size=2)
    for key in ("a", "b", "c"):
        recent.remember(key, PARENT)
    assert (recent.get("a"), recent.get("c")) == (None, PARENT)
