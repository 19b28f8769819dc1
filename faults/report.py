"""What a scenario reports, the table printed at the end and the JSON written beside it.

`lost` and `duplicates` (effective: a command applied twice, two different results for
one command, an event published with two contents, an e-mail received twice) must be 0
for a scenario to pass; `redeliveries` are duplicates on the wire that consumers deduped
(a result published again for a redelivered command, an event re-published by the relay,
an event the notification service found in its sent-log already): normal, only counted.
"""

from __future__ import annotations

import json
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_OUT = Path("var/faults/latest.json")


@dataclass
class Figures:
    scenario: str
    title: str = ""
    commands: int = 0
    """Commands sent (acknowledged by the broker) and checked."""
    faults: int = 0
    """Faults injected (kills, pauses, restarts, outages)."""
    lost: int = 0
    duplicates: int = 0
    redeliveries: int = 0
    smtp_exception: int = 0
    """E-mails sent twice by a crash between their last byte and their hand-over mark: the
    documented SMTP exception (SMTP has no idempotent send), counted apart, allowed only
    where a scenario provoked exactly that window."""
    recovery_s: float | None = None
    """Worst time from the end of a fault until the system made progress again."""
    converged_s: float | None = None
    """Time from the end of the load until every count balanced."""
    seconds: float = 0.0
    checks: dict[str, bool] = field(default_factory=dict)
    """Named pass/fail checks besides lost/duplicates (e.g. read model == rebuild)."""
    details: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def ok(self) -> bool:
        return (self.error is None and self.lost == 0 and self.duplicates == 0
                and all(self.checks.values()))

    def failed_checks(self) -> list[str]:
        return [name for name, passed in self.checks.items() if not passed]

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


def _cell(value: float | None, digits: int = 1) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def table(rows: list[Figures]) -> str:
    head = ("scenario", "ok", "commands", "faults", "lost", "dupes", "redeliv.", "recovery s",
            "converged s", "took s")
    lines = [head]
    for r in rows:
        lines.append((r.scenario, "yes" if r.ok else "NO", str(r.commands), str(r.faults),
                      str(r.lost), str(r.duplicates), str(r.redeliveries), _cell(r.recovery_s),
                      _cell(r.converged_s), _cell(r.seconds, 0)))
    widths = [max(len(line[i]) for line in lines) for i in range(len(head))]
    out = []
    for n, line in enumerate(lines):
        out.append("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                             for i, (c, w) in enumerate(zip(line, widths, strict=True))))
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    for r in rows:
        problems = [*(f"check failed: {c}" for c in r.failed_checks())]
        if r.smtp_exception:
            problems.append(f"{r.smtp_exception} e-mail(s) sent twice by the documented SMTP "
                            "exception (crash after the last byte, before the mark)")
        if r.error:
            problems.append(f"error: {r.error}")
        for text in [*problems, *r.notes]:
            out.append(f"  {r.scenario}: {text}")
    return "\n".join(out)


def write(rows: list[Figures], path: Path = DEFAULT_OUT, merge: bool = True) -> Path:
    """Write the figures; with `merge`, scenarios not run this time keep their last figures."""
    path.parent.mkdir(parents=True, exist_ok=True)
    scenarios: dict[str, Any] = {}
    if merge and path.exists():
        try:
            scenarios = dict(json.loads(path.read_text()).get("scenarios", {}))
        except (ValueError, AttributeError):
            scenarios = {}
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for row in rows:
        scenarios[row.scenario] = {**row.as_json(), "run_at": stamp}
    document = {"written_at": stamp, "host": platform.node(),
                "ok": all(s.get("ok") for s in scenarios.values()), "scenarios": scenarios}
    path.write_text(json.dumps(document, indent=2, sort_keys=False) + "\n")
    return path


def markdown(path: Path = DEFAULT_OUT) -> str:
    """The figures of `path` as a Markdown table (for docs/reliability.md)."""
    document = json.loads(path.read_text())
    lines = ["| scenario | ok | commands | faults | lost | eff. duplicates | raw redeliveries "
             "| recovery s | converged s | took s | run at |",
             "|---|---|--:|--:|--:|--:|--:|--:|--:|--:|---|"]
    for name, s in document["scenarios"].items():
        lines.append(
            f"| `{name}` | {'yes' if s['ok'] else '**no**'} | {s['commands']} | {s['faults']} "
            f"| {s['lost']} | {s['duplicates']} | {s['redeliveries']} | {_cell(s['recovery_s'])} "
            f"| {_cell(s['converged_s'])} | {_cell(s['seconds'], 0)} | {s.get('run_at', '')} |")
    return "\n".join(lines)
