"""The system a fault scenario breaks: the shared harness with each service as an OS
process of its own (so one can be killed without the other), the broker of its own
(pause, kill, restart), an SMTP sink in this process (down and up, 451s) and, when asked,
a throwaway PostgreSQL cluster the scenario may restart or kill -9. Every instance has a
fixed name (`ACCESS_INSTANCE`, `NOTIFICATIONS_INSTANCE`) that it keeps across restarts.
"""

from __future__ import annotations

import os
from pathlib import Path

from harness.database import Database, admin_url_from
from harness.processes import BIN
from harness.system import System as Harness
from services.local.smtp_sink import SmtpSink

__all__ = ["ADMIN_URL", "BIN", "SETTLE_S", "TOKEN", "System", "fault_system"]

TOKEN = "faults-token"  # noqa: S105 - a local, throwaway bearer token
ADMIN_URL = admin_url_from("FAULTS_ADMIN_DATABASE_URL", "TEST_ADMIN_DATABASE_URL")
INSTANCES = {"ACCESS_INSTANCE": "access-1", "NOTIFICATIONS_INSTANCE": "notifier-1"}

LEASE_S = 20.0
"""The notification service's lease in fault runs (120 s in production): short, so the
settle window (lease + one backoff) that lets a late duplicate show stays short too."""
RETRY_MAX_S = 4.0
"""Its SMTP backoff cap in fault runs (10 s in production)."""
SHORT_TIMERS = {"LEASE_SECONDS": str(LEASE_S), "SMTP_TIMEOUT_SECONDS": "8",
                "RETRY_MAX_SECONDS": str(RETRY_MAX_S)}
SETTLE_S = float(os.environ.get("FAULTS_SETTLE_S", str(LEASE_S + RETRY_MAX_S + 2.0)))
"""How long the suite keeps watching after everything arrived, before the verdict: past
one lease and one backoff, so an e-mail sent again by a takeover or a retry is seen."""

System = Harness[SmtpSink]


def fault_system(var: Path, *, own_cluster: bool = False, cluster_dir: Path | None = None,
                 notifications: bool = True, gateway: bool = False,
                 split: bool = False) -> System:
    """`split`: the access service's command side as `.access` (`ACCESS_ROLE=commands`);
    the caller adds its read side (`add_access(ACCESS_ROLE="queries")`) once it runs.
    `cluster_dir`: where the own cluster's data goes (a throwaway folder by default)."""
    database = Database(admin_url=ADMIN_URL, prefix="ca_faults", own_cluster=own_cluster,
                        cluster_dir=cluster_dir)
    role = {"ACCESS_ROLE": "commands"} if split else {}
    return System(var, SmtpSink(), name="faults", token=TOKEN, supervised=False,
                  notifications=notifications, gateway=gateway, database=database,
                  extra_env={**INSTANCES, **SHORT_TIMERS, **role}, stop_timeout=20.0)
