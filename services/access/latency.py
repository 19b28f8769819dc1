"""The access service's latency histograms, in its own prometheus_client registry.

Observed where the time is known anyway (one `observe` each, no allocation beyond it);
`/metrics` writes them after the counters (`AccessMetrics`).
"""

from __future__ import annotations

from prometheus_client import Histogram

from services.common.prometheus import LATENCY_BUCKETS, service_registry

REGISTRY = service_registry()

COMMAND_SECONDS = Histogram(
    "access_command_duration_seconds",
    "A command from its batch's receipt to its result handed to the broker (end to end "
    "inside the service).", buckets=LATENCY_BUCKETS, registry=REGISTRY)
BATCH_SECONDS = Histogram(
    "access_command_batch_duration_seconds",
    "The executor's run of one batch of commands, its commit included.",
    buckets=LATENCY_BUCKETS, registry=REGISTRY)
PROJECTION_LAG_SECONDS = Histogram(
    "access_projection_lag_seconds",
    "From an event's time (its command's) to its being applied to the read models.",
    buckets=LATENCY_BUCKETS, registry=REGISTRY)
CHECK_SECONDS = Histogram(
    "access_check_duration_seconds",
    "GET /v1/access/check, from the request to its response sent (either path).",
    buckets=LATENCY_BUCKETS, registry=REGISTRY)
