"""The conservation check by id, stage by stage, as pure functions over what was collected.

    commands sent ─► results on the wire (exactly one distinct result per command id)
                 ─► results stored (one row per command id, the same answer)
                 ─► events stored (each accepted command's events in ONE transaction,
                     none for a rejected one: a second transaction = applied twice)
                 ─► events on `access.events` (distinct ids = the stored published events,
                     each id always with the same content)
                 ─► read model (equals a fresh rebuild; checked by the caller)
                 ─► e-mails (each e-mail SPEC says the accepted commands cause, received exactly
                     once; expected side derived in `faults.spec_mail`, not by the service)

Each stage adds to `lost` (something upstream that never arrived downstream),
`duplicates` (effective: applied, answered or delivered twice) and `redeliveries`
(identical copies on the wire, which consumers dedupe by id).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

RESULT_FIELDS = ("command_id", "status", "reason", "position")
"""What makes two results the same answer (the detail text may be worded again)."""


@dataclass
class Ledger:
    lost: Counter[str] = field(default_factory=Counter)
    duplicates: Counter[str] = field(default_factory=Counter)
    redeliveries: Counter[str] = field(default_factory=Counter)
    samples: dict[str, list[str]] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def sample(self, what: str, value: object, keep: int = 5) -> None:
        found = self.samples.setdefault(what, [])
        if len(found) < keep:
            found.append(str(value))

    def total(self, which: str) -> int:
        counter: Counter[str] = getattr(self, which)
        return sum(counter.values())

    def as_json(self) -> dict[str, Any]:
        return {"lost": dict(self.lost), "duplicates": dict(self.duplicates),
                "redeliveries": dict(self.redeliveries), "counts": self.counts,
                "samples": self.samples}


def answer(raw: bytes | str | Mapping[str, Any]) -> tuple[Any, ...]:
    parsed = json.loads(raw) if isinstance(raw, bytes | str) else raw
    return tuple(parsed.get(name) for name in RESULT_FIELDS)


def reordered_by_resend(units: Iterable[Sequence[str]], attempts: Mapping[str, int],
                        first_result: Mapping[str, int],
                        statuses: Mapping[str, str] | None = None) -> set[str]:
    """Commands answered before an earlier command of their unit (same key, sent before
    them) that had to be sent again: a send that failed and was retried, or one a restarted
    broker lost and the client resent. Such a command was judged on a state without its
    predecessor, as the system must (commands are applied in the order they arrive), so a
    rejection there is the scenario's expectation being wrong, not the system.

    With `statuses`, the consequence too: a command after such a command that was
    *not* accepted (InviteUser on the charger whose RegisterCharger was rejected because it
    overtook RegisterUser) was judged on a state without it, for the same reason."""
    overtaking: set[str] = set()
    statuses = statuses or {}
    for unit in units:
        for i, command_id in enumerate(unit):
            mine = first_result.get(command_id)
            if mine is None:
                continue
            for earlier in unit[:i]:
                theirs = first_result.get(earlier)
                resent_later = attempts.get(earlier, 1) > 1 and (theirs is None or theirs > mine)
                knock_on = earlier in overtaking and statuses.get(earlier) not in (None, "accepted")
                if resent_later or knock_on:
                    overtaking.add(command_id)
                    break
    return overtaking


def check_results(ledger: Ledger, sent: Iterable[str],
                  wire: Mapping[str, Sequence[bytes]],
                  stored: Mapping[str, Mapping[str, Any]],
                  expected_status: Mapping[str, str] | None = None,
                  reordered: Iterable[str] = ()) -> dict[str, str]:
    """Results on the wire and in the store, per command id; returns each command's status.

    A status other than the expected one counts as `unexpected_status` (a failed check),
    unless the command is in `reordered` (see `reordered_by_resend`): then it counts as
    `reordered_by_resend`, explained, and the command's sample says which."""
    statuses: dict[str, str] = {}
    expected_status = expected_status or {}
    reordered = set(reordered)
    sent = list(sent)
    ledger.counts["commands_sent"] = len(sent)
    for command_id in sent:
        copies = wire.get(command_id, ())
        if not copies:
            ledger.lost["results_on_wire"] += 1
            ledger.sample("no_result_on_wire", command_id)
        else:
            distinct = {answer(c) for c in copies}
            if len(distinct) > 1:
                ledger.duplicates["different_results"] += len(distinct) - 1
                ledger.sample("different_results", f"{command_id}: {sorted(map(str, distinct))}")
            ledger.redeliveries["results"] += len(copies) - 1
            statuses[command_id] = str(json.loads(copies[0])["status"])
        row = stored.get(command_id)
        if row is None:
            ledger.lost["results_stored"] += 1
            ledger.sample("no_stored_result", command_id)
        else:
            statuses.setdefault(command_id, str(row.get("status")))
            if copies and answer({**row, "command_id": command_id}) != answer(copies[0]):
                ledger.duplicates["wire_result_differs_from_store"] += 1
                ledger.sample("wire_vs_store", f"{command_id}: {row} vs {copies[0]!r}")
        want = expected_status.get(command_id)
        if want is not None and command_id in statuses and statuses[command_id] != want:
            if command_id in reordered:
                ledger.counts["reordered_by_resend"] = ledger.counts.get(
                    "reordered_by_resend", 0) + 1
                ledger.sample("reordered_by_resend", f"{command_id}: {copies[0]!r}"
                              if copies else command_id)
                continue
            ledger.counts["unexpected_status"] = ledger.counts.get("unexpected_status", 0) + 1
            ledger.sample("unexpected_status", f"{command_id}: {copies[0]!r}"
                          if copies else f"{command_id}: {statuses[command_id]}")
    ledger.counts["accepted"] = sum(1 for s in statuses.values() if s == "accepted")
    return statuses


def check_store(ledger: Ledger, statuses: Mapping[str, str],
                rows: Iterable[tuple[str | None, int]]) -> None:
    """`rows`: (command id, inserting transaction id) of every stored event.

    An accepted command's events commit together; a second transaction holding events of
    the same command means it was applied twice. Rejected commands store nothing.
    """
    transactions: dict[str, set[int]] = {}
    events: Counter[str] = Counter()
    for command_id, xid in rows:
        if command_id is None:
            continue
        transactions.setdefault(command_id, set()).add(xid)
        events[command_id] += 1
    ledger.counts["events_stored"] = sum(events.values())
    for command_id, status in statuses.items():
        found = transactions.get(command_id, set())
        if status == "accepted" and not found:
            ledger.lost["accepted_without_events"] += 1
            ledger.sample("accepted_without_events", command_id)
        if status != "accepted" and found:
            ledger.duplicates["rejected_with_events"] += 1
            ledger.sample("rejected_with_events", command_id)
        if len(found) > 1:
            ledger.duplicates["applied_twice"] += len(found) - 1
            ledger.sample("applied_twice", f"{command_id}: {len(found)} transactions")


def check_events(ledger: Ledger, stored: Iterable[str],
                 wire: Mapping[str, Sequence[bytes]]) -> None:
    """Every stored published event on `access.events`; one content per id."""
    stored = set(stored)
    ledger.counts["events_published_stored"] = len(stored)
    ledger.counts["events_on_wire_distinct"] = len(wire)
    for event_id in stored:
        copies = wire.get(event_id, ())
        if not copies:
            ledger.lost["events_on_wire"] += 1
            ledger.sample("event_not_on_wire", event_id)
            continue
        distinct = {_canonical(c) for c in copies}
        ledger.duplicates["event_contents"] += len(distinct) - 1
        ledger.redeliveries["events"] += len(copies) - 1
    strangers = set(wire) - stored
    if strangers:
        ledger.duplicates["events_on_wire_not_in_store"] += len(strangers)
        ledger.sample("event_not_in_store", next(iter(strangers)))


def check_emails(ledger: Ledger, expected: Mapping[Any, int],
                 received: Mapping[Any, int]) -> None:
    """Each expected e-mail received as many times as expected (once, nearly always);
    none unexpected. Keys are whatever both sides name an e-mail by (`spec_mail.Mail`)."""
    ledger.counts["emails_expected"] = sum(expected.values())
    ledger.counts["emails_received"] = sum(received.values())
    for key, want in expected.items():
        n = received.get(key, 0)
        if n < want:
            ledger.lost["emails"] += want - n
            ledger.sample("email_not_received", key)
        elif n > want:
            ledger.duplicates["emails"] += n - want
            ledger.sample("email_received_twice", key)
    unexpected = [k for k in received if k not in expected]
    if unexpected:
        ledger.duplicates["emails_unexpected"] += sum(received[k] for k in unexpected)
        ledger.sample("email_unexpected", unexpected[0])


def _canonical(raw: bytes) -> str:
    return json.dumps(json.loads(raw), sort_keys=True)
