"""`GET /metrics` (Prometheus text format) and `GET /healthz` of the notification service.

Two read-only endpoints need no web framework: a small asyncio server that reads one
request line (and its headers, bounded), answers and closes the connection. `/metrics`
takes one of `API_TOKENS` as a bearer token, as the access service's does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterable

from prometheus_client import CollectorRegistry
from pydantic import SecretStr

from services.common.bearer import UNAUTHORIZED_HEADERS, bearer_allows
from services.common.prometheus import CONTENT_TYPE, MetricsText
from services.common.timeouts import wait_for
from services.notifications.delivery.deliverer import Deliverer
from services.notifications.latency import REGISTRY
from services.notifications.ports import QueueDepth
from services.notifications.smtp.pool import REASONS

log = logging.getLogger(__name__)

MAX_HEADER_BYTES = 16 * 1024
READ_TIMEOUT_SECONDS = 5.0
DEPTH_TIMEOUT_SECONDS = 2.0


async def render_metrics(
    deliverer: Deliverer,
    depth: Callable[[], Awaitable[QueueDepth]],
    registry: CollectorRegistry | None = REGISTRY,
    assigned: Callable[[], int] | None = None,
) -> str:
    """`assigned`: how many partitions of `access.events` this instance consumes now."""
    stats = deliverer.stats
    out = MetricsText()
    metric = out.metric
    if assigned is not None:
        metric(
            "notifications_partitions_assigned",
            "gauge",
            "Partitions of access.events this instance consumes (0 while it joins its "
            "group: e-mails it had leased still go, new events wait).",
            assigned(),
        )

    metric(
        "notifications_emails_sent_total",
        "counter",
        "E-mails the SMTP server accepted.",
        stats.sent,
    )
    metric(
        "notifications_emails_failed_total",
        "counter",
        "E-mails failed for good (5xx, unsafe header, retries given up).",
        stats.failed,
    )
    metric(
        "notifications_emails_retried_total",
        "counter",
        "Transient SMTP failures (4xx, connection) put back in the retry queue.",
        stats.retried,
    )
    metric(
        "notifications_dlq_records_total",
        "counter",
        "Records published on notifications.dlq.",
        stats.dead_lettered,
    )
    metric(
        "notifications_duplicates_total",
        "counter",
        "E-mails of redelivered events found already in the sent-log.",
        stats.duplicates,
    )
    metric(
        "notifications_skipped_records_total",
        "counter",
        "Records on access.events that were not parseable or not known.",
        stats.skipped_records,
    )
    metric(
        "notifications_handed_over_settled_total",
        "counter",
        "E-mails a stopped process had handed to the SMTP server, counted sent, not resent.",
        stats.settled_handed_over,
    )
    metric(
        "notifications_hand_over_marks_unconfirmed_total",
        "counter",
        "E-mails handed to the SMTP server whose hand-over mark was not confirmed stored "
        "(a kill before their outcome is written sends them again).",
        stats.marks_unconfirmed,
    )
    metric(
        "notifications_users_forgotten_total",
        "counter",
        "UserForgotten events applied to the sent-log.",
        stats.forgotten,
    )
    out.family(
        "notifications_smtp_failures_total",
        "counter",
        "Sends that failed, by reason (deferred 4xx, refused 5xx, connection, "
        "tls_unavailable, tls_failed, auth_refused).",
        [({"reason": reason}, stats.smtp_failures.get(reason, 0)) for reason in REASONS],
    )
    metric(
        "notifications_smtp_up",
        "gauge",
        "1 while the SMTP server answers, 0 while the breaker probes it.",
        1 if deliverer.health.up else 0,
    )
    try:
        queue = await wait_for(depth(), DEPTH_TIMEOUT_SECONDS)
    except Exception as error:  # the counters above are still worth serving
        log.warning("queue depth unavailable: %s", type(error).__name__)
    else:
        metric(
            "notifications_queue_pending",
            "gauge",
            "E-mails claimed but not yet sent or failed.",
            queue.pending,
        )
        metric(
            "notifications_queue_due",
            "gauge",
            "Pending e-mails whose next attempt is due now.",
            queue.due,
        )
    if registry is not None:
        out.collected(registry)
    return out.text()


class MetricsServer:
    def __init__(
        self,
        deliverer: Deliverer,
        depth: Callable[[], Awaitable[QueueDepth]],
        port: int,
        tokens: Iterable[SecretStr],
        host: str = "0.0.0.0",  # noqa: S104 - scraped from outside the container
        assigned: Callable[[], int] | None = None,
    ) -> None:
        self._tokens = frozenset(tokens)
        self._assigned = assigned
        self._deliverer = deliverer
        self._depth = depth
        self._host = host
        self._port = port
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._handle, self._host, self._port)
        log.info("metrics on http://%s:%d/metrics", self._host, self.port)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            status, content_type, body = await wait_for(
                self._answer(reader), READ_TIMEOUT_SECONDS
            )
            extra = "".join(f"{name}: {value}\r\n" for name, value in UNAUTHORIZED_HEADERS
                            ) if status.startswith("401") else ""
            head = (
                f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n{extra}"
                f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode("ascii") + body)
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError, ValueError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> tuple[str, str, bytes]:
        request = await _read_head(reader)
        parts = request.split(b"\r\n", 1)[0].split()
        if len(parts) != 3:
            return "400 Bad Request", "text/plain", b"bad request\n"
        method, target = parts[0], parts[1].split(b"?", 1)[0]
        if method != b"GET":
            return "405 Method Not Allowed", "text/plain", b"GET only\n"
        if target == b"/healthz":
            return "200 OK", "application/json", b'{"status":"ok"}\n'
        if target == b"/metrics":
            if not bearer_allows(_header(request, b"authorization"), self._tokens):
                return "401 Unauthorized", "text/plain", b"unauthorized\n"
            text = await render_metrics(self._deliverer, self._depth, assigned=self._assigned)
            return "200 OK", CONTENT_TYPE, text.encode()
        return "404 Not Found", "text/plain", b"not found\n"


def _header(head: bytes, name: bytes) -> str | None:
    """The first header `name` (lower-case) of a request head, decoded; None if absent."""
    for line in head.split(b"\n")[1:]:
        key, colon, value = line.partition(b":")
        if colon and key.strip().lower() == name:
            return value.strip().decode("latin-1")
    return None


async def _read_head(reader: asyncio.StreamReader) -> bytes:
    head = bytearray()
    while not head.endswith(b"\r\n\r\n") and not head.endswith(b"\n\n"):
        line = await reader.readline()
        if not line:
            break
        head += line
        if len(head) > MAX_HEADER_BYTES:
            raise ValueError("request head too large")
    return bytes(head)
