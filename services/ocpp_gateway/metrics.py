"""The gateway's counters and its `/metrics` page (Prometheus text, `common/prometheus`).

Counters only grow in this process; a restart starts them at zero, as Prometheus expects.
The process metrics (CPU, memory, open files) and the garbage collector's pauses follow
them, as in the other services.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from services.common.prometheus import MetricsText, service_registry


class GatewayMetrics:
    def __init__(self, connected: Callable[[], dict[str, int]]) -> None:
        self._connected = connected
        self._registry = service_registry()
        self.lists_sent: Counter[str] = Counter()
        """By update type: `Full`, `Differential` (a list in parts counts once)."""
        self.list_refusals: Counter[str] = Counter()
        """SendLocalList answers other than Accepted, by status (`VersionMismatch`...)."""
        self.authorize: Counter[tuple[str, str]] = Counter()
        """Authorize answers by (OCPP version, status)."""
        self.handshakes_refused: Counter[str] = Counter()
        self.logins: Counter[str] = Counter()
        """Chargers let in on their password, by `credentials.Login` (`accepted`, or
        `accepted_previous`: a password from a secret `OCPP_AUTH_SECRET` replaced)."""
        self.password_renewals: Counter[tuple[str, str]] = Counter()
        """New passwords sent (`password_renewal`), by (OCPP version, the answer's status)."""
        self.bad_frames = 0
        self.changes_heard = 0

    def bad_frame(self) -> None:
        self.bad_frames += 1

    def render(self) -> str:
        out = MetricsText()
        out.family(
            "ocpp_gateway_connected_chargers",
            "gauge",
            "Chargers connected to this instance, by OCPP version.",
            [({"ocpp_version": v}, n) for v, n in sorted(self._connected().items())],
        )
        out.family(
            "ocpp_gateway_local_lists_sent_total",
            "counter",
            "SendLocalList lists the chargers accepted or refused, by update type.",
            [({"update_type": t}, n) for t, n in sorted(self.lists_sent.items())],
        )
        out.family(
            "ocpp_gateway_local_list_mismatches_total",
            "counter",
            "SendLocalList answered other than Accepted (VersionMismatch, Failed), "
            "each followed by the Full list.",
            [({"status": s}, n) for s, n in sorted(self.list_refusals.items())],
        )
        out.family(
            "ocpp_gateway_authorize_total",
            "counter",
            "Authorize answers, by OCPP version and status.",
            [({"ocpp_version": v, "status": s}, n) for (v, s), n in sorted(self.authorize.items())],
        )
        out.family(
            "ocpp_gateway_handshakes_refused_total",
            "counter",
            "WebSocket handshakes refused, by reason.",
            [({"reason": r}, n) for r, n in sorted(self.handshakes_refused.items())],
        )
        out.family(
            "ocpp_gateway_logins_total",
            "counter",
            "Handshakes let in on a charger's password (security profile 1 or 2), by "
            "result; accepted_previous: the password of a secret OCPP_AUTH_SECRET replaced.",
            [({"result": r}, n) for r, n in sorted(self.logins.items())],
        )
        out.family(
            "ocpp_gateway_password_renewals_total",
            "counter",
            "New passwords sent to chargers that logged in with a replaced secret's "
            "(profile 2), by OCPP version and the charger's answer.",
            [({"ocpp_version": v, "status": s}, n)
             for (v, s), n in sorted(self.password_renewals.items())],
        )
        out.metric(
            "ocpp_gateway_bad_frames_total",
            "counter",
            "Frames that were not OCPP-J (dropped; the connection goes on).",
            self.bad_frames,
        )
        out.metric(
            "ocpp_gateway_list_changes_heard_total",
            "counter",
            "LocalListChanged records read from access.local-lists.",
            self.changes_heard,
        )
        out.collected(self._registry)
        return out.text()
