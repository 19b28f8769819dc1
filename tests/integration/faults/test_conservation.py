"""The fault suite's books: the conservation check finds each kind of loss and doubling,
tells redeliveries from effective duplicates, and the report says so."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from faults.conservation import Ledger, check_emails, check_events, check_results, check_store
from faults.report import Figures, table, write


def result(command_id: str, status: str = "accepted", position: int | None = 7,
           detail: str = "ok") -> bytes:
    return json.dumps({"command_id": command_id, "status": status, "reason": None,
                       "detail": detail, "position": position}).encode()


def stored(status: str = "accepted", position: int | None = 7) -> dict[str, object]:
    return {"status": status, "reason": None, "position": position}


def test_identical_copies_of_a_result_are_redeliveries_not_duplicates() -> None:
    ledger = Ledger()
    statuses = check_results(ledger, ["a"], {"a": [result("a"), result("a", detail="again")]},
                             {"a": stored()}, {"a": "accepted"})
    assert statuses == {"a": "accepted"}
    assert ledger.total("lost") == ledger.total("duplicates") == 0
    assert ledger.redeliveries["results"] == 1


def test_a_second_different_answer_is_an_effective_duplicate() -> None:
    ledger = Ledger()
    check_results(ledger, ["a"], {"a": [result("a"), result("a", "rejected", None)]},
                  {"a": stored()})
    assert ledger.duplicates["different_results"] == 1


def test_missing_results_on_the_wire_and_in_the_store_are_lost() -> None:
    ledger = Ledger()
    check_results(ledger, ["a", "b"], {"a": [result("a")]}, {"b": stored()})
    assert ledger.lost == {"results_on_wire": 1, "results_stored": 1}


def test_a_wire_answer_that_differs_from_the_stored_one_counts() -> None:
    ledger = Ledger()
    check_results(ledger, ["a"], {"a": [result("a", position=7)]}, {"a": stored(position=8)})
    assert ledger.duplicates["wire_result_differs_from_store"] == 1


def test_unexpected_statuses_are_counted_apart() -> None:
    ledger = Ledger()
    check_results(ledger, ["a"], {"a": [result("a", "rejected")]}, {"a": stored("rejected")},
                  {"a": "accepted"})
    assert ledger.counts["unexpected_status"] == 1
    assert ledger.total("lost") == 0


def test_events_of_one_command_in_two_transactions_mean_it_was_applied_twice() -> None:
    ledger = Ledger()
    check_store(ledger, {"a": "accepted", "b": "accepted", "c": "rejected", "d": "accepted"},
                [("a", 10), ("a", 10), ("b", 11), ("b", 12), ("c", 13), (None, 14)])
    assert ledger.duplicates == {"applied_twice": 1, "rejected_with_events": 1}
    assert ledger.lost == {"accepted_without_events": 1}  # d
    assert ledger.counts["events_stored"] == 5


def test_events_on_the_wire_balance_by_id() -> None:
    ledger = Ledger()
    event = json.dumps({"id": "e1", "type": "T", "data": {"x": 1}}).encode()
    reordered = json.dumps({"data": {"x": 1}, "type": "T", "id": "e1"}).encode()
    changed = json.dumps({"id": "e2", "type": "T", "data": {"x": 2}}).encode()
    check_events(ledger, {"e1", "e2", "e3"},
                 {"e1": [event, reordered], "e2": [changed, event], "e9": [event]})
    assert ledger.redeliveries["events"] == 2
    assert ledger.lost == {"events_on_wire": 1}  # e3
    assert ledger.duplicates["event_contents"] == 1  # e2 came with two contents
    assert ledger.duplicates["events_on_wire_not_in_store"] == 1


def test_emails_exactly_once_by_message_id_and_recipient() -> None:
    ledger = Ledger()
    check_emails(ledger, Counter([("<1@x>", "a@x.no"), ("<2@x>", "b@x.no"), ("<3@x>", "c@x.no")]),
                 Counter([("<1@x>", "a@x.no"), ("<2@x>", "b@x.no"), ("<2@x>", "b@x.no"),
                          ("<4@x>", "d@x.no")]))
    assert ledger.lost == {"emails": 1}
    assert ledger.duplicates == {"emails": 1, "emails_unexpected": 1}


def test_figures_pass_only_with_nothing_lost_doubled_or_failed() -> None:
    assert Figures("x").ok
    assert not Figures("x", lost=1).ok
    assert not Figures("x", duplicates=1).ok
    assert not Figures("x", error="boom").ok
    failing = Figures("x", checks={"read model == fresh rebuild": False})
    assert not failing.ok
    assert failing.failed_checks() == ["read model == fresh rebuild"]


def test_the_table_and_the_json(tmp_path: Path) -> None:
    rows = [Figures("kill-access", commands=1200, faults=5, redeliveries=30, recovery_s=6.25,
                    converged_s=3.0, seconds=80.0),
            Figures("smtp-down", lost=2, checks={"x": False}, notes=["slow"])]
    text = table(rows)
    lines = text.splitlines()
    assert lines[0].split()[:5] == ["scenario", "ok", "commands", "faults", "lost"]
    assert "kill-access" in lines[2]
    assert "6.2" in lines[2]
    assert "yes" in lines[2]
    assert "NO" in lines[3]
    assert "smtp-down: check failed: x" in text
    assert "smtp-down: slow" in text

    out = write(rows[:1], tmp_path / "latest.json")
    write(rows[1:], out)  # a later run of another scenario keeps the first one's figures
    document = json.loads(out.read_text())
    assert set(document["scenarios"]) == {"kill-access", "smtp-down"}
    assert document["scenarios"]["kill-access"]["ok"] is True
    assert document["scenarios"]["kill-access"]["recovery_s"] == 6.25
    assert document["ok"] is False
