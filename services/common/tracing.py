"""W3C trace context through the services, and OpenTelemetry spans when there is somewhere
to send them.

A command's `traceparent` (binary binding `ce_traceparent` or plain `traceparent`
header; structured: the `traceparent` extension) is carried to its result, its events
on `access.events` and the e-mails they cause. Without `OTEL_EXPORTER_OTLP_ENDPOINT` no
span is made and nothing is exported: a received `traceparent` is only passed on (the
result's header), which costs a header. With it, each hop is a span, a child of the one
before, batched to the OTLP/HTTP endpoint.
"""

from __future__ import annotations

import os
import re
from collections import OrderedDict
from collections.abc import Iterable

from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.trace import Span, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

ENDPOINT_VARIABLE = "OTEL_EXPORTER_OTLP_ENDPOINT"
TRACEPARENT = "traceparent"
_BINARY = "ce_traceparent"
_FORMAT = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}\Z")
_PROPAGATOR = TraceContextTextMapPropagator()

_tracer: trace.Tracer | None = None


def configure(service_name: str, processor: SpanProcessor | None = None) -> bool:
    """Make spans from now on when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (exported over
    OTLP/HTTP, in batches), or into `processor` (tests). True when spans are made."""
    global _tracer  # noqa: PLW0603 - one tracer per process, set once at start
    if processor is None:
        if not os.environ.get(ENDPOINT_VARIABLE):
            return False
        # Imported only when used: the exporter pulls protobuf and requests in.
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import (  # noqa: PLC0415
            OTLPSpanExporter,
        )
        from opentelemetry.sdk.trace.export import BatchSpanProcessor  # noqa: PLC0415

        processor = BatchSpanProcessor(OTLPSpanExporter())
    provider = TracerProvider(resource=Resource.create({"service.name": service_name}))
    provider.add_span_processor(processor)
    _tracer = provider.get_tracer("charger-access")
    return True


def enabled() -> bool:
    return _tracer is not None


def from_headers(headers: Iterable[tuple[str, bytes]]) -> str | None:
    """A well-formed `traceparent` of a Kafka record's headers (binary binding first).
    One pass, no dict: it runs for every command record."""
    plain: bytes | None = None
    for name, raw in headers:
        if name == _BINARY:
            return valid(raw.decode("ascii", errors="replace"))
        if name == TRACEPARENT and plain is None:
            plain = raw
    return None if plain is None else valid(plain.decode("ascii", errors="replace"))


def valid(value: object) -> str | None:
    """`value` when it is a W3C traceparent (version 00 or a later one), else None."""
    if isinstance(value, str) and _FORMAT.match(value) and not value.startswith("ff"):
        return value
    return None


def start(name: str, parent: str | None, start_ns: int | None = None,
          kind: SpanKind = SpanKind.CONSUMER) -> Span | None:
    """A span continuing `parent`; None when spans are not made."""
    if _tracer is None:
        return None
    context = _PROPAGATOR.extract({TRACEPARENT: parent}) if parent else None
    return _tracer.start_span(name, context=context, kind=kind, start_time=start_ns)


def traceparent(span: Span) -> str:
    """The `traceparent` naming `span` as the parent of what comes next."""
    ctx = span.get_span_context()
    return f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-{ctx.trace_flags:02x}"


def trace_id(value: str) -> str:
    """The trace id part of a traceparent."""
    return value.split("-")[1]


class RecentTraces:
    """`traceparent` by key (an event id) for the last `size` keys: what a later step of
    the same process (an e-mail sent from the queue) continues. Lost on restart; then the
    step starts a trace of its own."""

    def __init__(self, size: int = 10_000) -> None:
        self._size = size
        self._by_key: OrderedDict[str, str] = OrderedDict()

    def remember(self, key: str, value: str) -> None:
        self._by_key[key] = value
        if len(self._by_key) > self._size:
            self._by_key.popitem(last=False)

    def get(self, key: str) -> str | None:
        return self._by_key.get(key)
