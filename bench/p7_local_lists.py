"""P7: `GET /v1/chargers/{id}/local-list/2.0.1` for a charger with 1 000 keys in P3's
1 M-grant store, Full and Differential, against the access check on the same server,
same run, same request loop.

The store is P3's table (loaded here when neither P3 nor the time-bound measure did).
The charger's log (`bench.p7_list_history`) is then projected by the projection's own
code, segment by segment as `projection.apply` does it (`segments`, `fold_logged`,
`write_changes`, `reached_by`, `update_local_lists`) but without moving the live
projection's tracked position, so its list versions, entries and `read.access` rows are
the ones a live projection writes. Full is asked without `since_version` (1 000 entries),
Differential with the version before the newest (one entry). The baseline is
`/v1/access/check` for the same charger's share holders: the same HTTP stack, client
loop and authentication, one point lookup, minus what is judged (the list's snapshot
transaction, its index reads and the OCPP payload). PERFORMANCE.md's P7
goal for local lists is growth (value at 10 M events / 1 M grants <= 1.5x the value at
100 k / 10 k), which one store size cannot judge: the ratio to the check is reported
without a goal.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bench.core import Bench, wait_until
from bench.http import Connection, timed_gets
from bench.p3_check import load_grants
from bench.p7_list_history import CHARGER, HISTORY_EVENTS, KEYS, history, last_change, user_of
from bench.stats import Row, median, percentile, ratio
from bench.system import TOKEN
from services.access.local_lists.segments import segments
from services.access.projection.changes import fold_logged
from services.access.projection.records import LogRecord
from services.access.projection.sql import DEFAULT_SCHEMA
from services.access.projection.tables.local_lists import reached_by, update_local_lists
from services.access.projection.writer import write_changes

CHUNK = 250
"""Log records projected per transaction, as a live projection batch would be."""
PUBLISHED_WITHIN = 120.0
"""Seconds the local-lists publisher may take to publish the seeded versions (when its
cursor is below them) before the measure starts: it runs in the process measured."""
REQUESTS = 1_000
"""Requests per kind and repetition at most (a Full answer is ~100 kB)."""
FULL = f"/v1/chargers/{CHARGER}/local-list/2.0.1"


async def project(b: Bench, records: Sequence[LogRecord]) -> None:
    """`projection.apply`'s segment loop, minus the tracking row (the live projection's
    position stays where the real log put it)."""
    s = DEFAULT_SCHEMA
    async with b.pool.acquire() as conn, conn.transaction():
        for segment in segments(records):
            changes = fold_logged(segment.events)
            marks = dict(segment.chargers)
            before = (await reached_by(conn, s, segment) if segment.wide is not None
                      else set())
            await write_changes(conn, changes, s)
            if segment.wide is not None:
                after = await reached_by(conn, s, segment)
                marks.update(dict.fromkeys(before | after, segment.wide))
            await update_local_lists(conn, s, marks, {c: segment.scope(c) for c in marks})


async def seed(b: Bench, grants: int) -> dict[str, Any]:
    """P3's grants (unless loaded), then the charger's log projected; seconds taken."""
    details: dict[str, Any] = {}
    started = time.monotonic()
    rows = await b.pool.fetchval("SELECT count(*) FROM read.access")
    details["reused_grants"] = rows >= grants
    if not details["reused_grants"]:
        b.say(f"P7 lists: loading {grants:,} grants into read.access (P3's load)")
        details["load_rows_per_s"] = await load_grants(b, grants)
    details["load_seconds"] = time.monotonic() - started
    now = datetime.now(UTC)
    records = list(history(now))
    projecting = time.monotonic()
    for first in range(0, len(records), CHUNK):
        await project(b, records[first:first + CHUNK])
    await project(b, [last_change(now, HISTORY_EVENTS + 1)])
    details["project_seconds"] = time.monotonic() - projecting
    details["events"] = HISTORY_EVENTS + 1
    details["seed_seconds"] = time.monotonic() - started
    async with b.pool.acquire() as conn:
        await conn.execute("ANALYZE read.local_list_entries")
        await conn.execute("ANALYZE read.local_list_versions")
        details["version"] = await conn.fetchval(
            "SELECT max(version) FROM read.local_list_versions WHERE charger_id = $1", CHARGER)
        details["entries"] = await conn.fetchval(
            "SELECT count(*) FROM read.local_list_entries WHERE charger_id = $1 "
            "AND removed_in IS NULL", CHARGER)
        details["grants"] = await conn.fetchval("SELECT count(*) FROM read.access")
    if details["entries"] != KEYS:
        raise RuntimeError(f"the seeded list has {details['entries']} keys, not {KEYS}")
    return details


async def publisher_lag(b: Bench) -> int | None:
    """`access_local_lists_lag_positions` from the service's /metrics (None: not there)."""
    conn = Connection(b.system.commands_api, TOKEN)
    try:
        body = (await conn.get("/metrics")).body.decode()
    finally:
        await conn.close()
    for line in body.splitlines():
        if line.startswith("access_local_lists_lag_positions "):
            return int(float(line.split()[1]))
    return None


def expected(kind: str) -> tuple[str, int]:
    """(updateType, entries) a correct list answer of `kind` holds."""
    return ("Full", KEYS) if kind == "full" else ("Differential", 1)


async def _caught_up(b: Bench) -> bool:
    return await publisher_lag(b) in (0, None)


async def latency(b: Bench, paths: list[str], kind: str, version: int) -> list[float]:
    """One request at a time on one keep-alive connection, after 50 to warm up; the
    last answer is checked (lists: type, version and length; check: allowed)."""
    latencies, response = await timed_gets(b.system.api, TOKEN, paths, warm_up=50)
    if response is None:
        raise RuntimeError(f"no {kind} path to ask")
    answer = json.loads(response.body)
    if kind == "check":
        if answer.get("allowed") is not True:
            raise RuntimeError(f"a share holder's check is not allowed: {answer}")
    else:
        request = answer["request"]
        found = (request["updateType"], len(request.get("localAuthorizationList", [])))
        if found != expected(kind) or request["versionNumber"] != version:
            raise RuntimeError(f"{kind} list answered {found} at {request['versionNumber']}, "
                               f"expected {expected(kind)} at {version}")
    return latencies


async def run(b: Bench) -> None:
    plan = b.plan
    details = await seed(b, plan.p3_grants)
    version = details["version"]
    waiting = time.monotonic()
    details["publisher_caught_up"] = await wait_until(
        lambda: _caught_up(b), PUBLISHED_WITHIN, interval=0.5)
    details["publisher_wait_seconds"] = time.monotonic() - waiting
    b.say(f"P7 lists: seeded in {details['seed_seconds']:.1f} s (projecting "
          f"{details['events']:,} events: {details['project_seconds']:.1f} s); "
          f"{details['entries']:,} keys at version {version}, {details['grants']:,} grants; "
          f"publisher caught up: {details['publisher_caught_up']} after "
          f"{details['publisher_wait_seconds']:.1f} s")
    n = min(plan.p3_latency_requests, REQUESTS)
    paths = {
        "check": [f"/v1/access/check?user_id={user_of(i % KEYS)}&charger_id={CHARGER}"
                  for i in range(n)],
        "full": [FULL] * n,
        "differential": [f"{FULL}?since_version={version - 1}"] * n,
    }
    p99: dict[str, list[float]] = {kind: [] for kind in paths}
    p50: dict[str, list[float]] = {kind: [] for kind in paths}
    kinds = list(paths)
    for rep in range(plan.reps):
        order = kinds[rep % len(kinds):] + kinds[:rep % len(kinds)]
        for kind in order:
            profiled = kind == "full" and rep == 0
            async with b.profiled("access-service", "p7-access-service-local-list", profiled):
                latencies = await latency(b, paths[kind], kind, version)
            p50[kind].append(percentile(latencies, 50) * 1000)
            p99[kind].append(percentile(latencies, 99) * 1000)
        b.say("P7 lists rep {}: p99 Full {:.2f} ms, Differential {:.2f} ms, check {:.2f} ms"
              .format(rep + 1, p99["full"][-1], p99["differential"][-1], p99["check"][-1]))
    ratios = {kind: ratio(median(p99[kind]), median(p99["check"])) for kind in
              ("full", "differential")}
    b.say("P7 lists p99 / check p99: Full {full:.2f}x, Differential {differential:.2f}x "
          "(no goal against the check; PERFORMANCE.md's P7 goal is growth)".format(**ratios))
    note = (f"{KEYS:,} keys on one charger, version {version}, "
            f"{details['grants']:,} grants; 1 client, {n} requests per rep")
    base = "access check p99, same charger"
    b.rows.append(Row("P7", "local list Full, p99", "ms", p99["full"], p99["check"],
                      base, "lower", None, note))
    b.rows.append(Row("P7", "local list Differential, p99", "ms", p99["differential"],
                      p99["check"], base, "lower", None, note))
    details.update(p50=p50, p99=p99, p99_ratio_to_check=ratios, requests=n)
    b.details["P7 lists"] = details
