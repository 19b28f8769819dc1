"""The notification service's latency histogram, in its own prometheus_client registry."""

from __future__ import annotations

from prometheus_client import Histogram

from services.common.prometheus import LATENCY_BUCKETS, service_registry

REGISTRY = service_registry()

SEND_SECONDS = Histogram(
    "notifications_email_send_duration_seconds",
    "One e-mail handed to the SMTP server, from the send to the server's answer "
    "(failures included).", buckets=LATENCY_BUCKETS, registry=REGISTRY)
