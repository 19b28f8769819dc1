"""broker-restart's verdict: a command answered before an earlier command of its unit
that had to be resent was judged on a state without it: its rejection is explained
("reordered by resend"), not a failure; any other unexpected answer still fails."""

from __future__ import annotations

import json

from faults.conservation import Ledger, check_results, reordered_by_resend


def result(command_id: str, status: str, reason: str | None = None) -> bytes:
    return json.dumps(
        {
            "command_id": command_id,
            "status": status,
            "reason": reason,
            "detail": "",
            "position": None,
        }
    ).encode()


def test_a_command_answered_before_its_resent_predecessor_is_reordered() -> None:
    units = [["user", "charger", "invite"], ["u2", "c2", "i2"]]
    # "user" was lost by the broker and resent: answered after "charger" (and "invite")
    attempts = {"user": 2, "charger": 1, "invite": 1, "u2": 2, "c2": 1, "i2": 1}
    first = {"charger": 0, "invite": 1, "user": 2, "u2": 3, "c2": 4, "i2": 5}
    assert reordered_by_resend(units, attempts, first) == {"charger", "invite"}
    # resent but answered first (u2): nothing overtook it
    # never resent: no reordering, whatever the answer order
    assert reordered_by_resend(units, {**attempts, "user": 1}, first) == set()


def test_a_command_after_a_rejected_overtaker_is_explained_too() -> None:
    # charger overtook the resent user and was rejected; the user was then accepted
    # before invite arrived, but invite found no charger: the knock-on of the reordering
    units = [["user", "charger", "invite"]]
    attempts = {"user": 2, "charger": 1, "invite": 1}
    first = {"charger": 0, "user": 1, "invite": 2}
    statuses = {"user": "accepted", "charger": "rejected", "invite": "rejected"}
    assert reordered_by_resend(units, attempts, first) == {"charger"}
    assert reordered_by_resend(units, attempts, first, statuses) == {"charger", "invite"}
    # had the overtaking charger been accepted, invite's rejection would be unexplained
    accepted = {**statuses, "charger": "accepted"}
    assert reordered_by_resend(units, attempts, first, accepted) == {"charger"}


def test_the_verdict_explains_reordered_rejections_and_fails_the_others() -> None:
    wire = {
        "user": [result("user", "accepted")],
        "charger": [result("charger", "rejected", "not_found")],
        "other": [result("other", "rejected", "forbidden")],
    }
    stored = {cid: json.loads(v[0]) for cid, v in wire.items()}
    ledger = Ledger()
    check_results(
        ledger,
        ["user", "charger", "other"],
        wire,
        stored,
        dict.fromkeys(wire, "accepted"),
        reordered={"charger"},
    )
    assert ledger.counts["reordered_by_resend"] == 1
    assert ledger.counts["unexpected_status"] == 1
    assert ledger.samples["unexpected_status"][0].startswith("other:")
    assert "not_found" in ledger.samples["reordered_by_resend"][0]
