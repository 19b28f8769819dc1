"""The `read-your-writes` scenario's verdict on one answer: a 200 or 404 below the asked
position is the violation, a 503 below it is the honest answer, and a 503 at or past it
would have been answerable (counted stale: the wait was the API's to make)."""

from __future__ import annotations

import pytest

from faults.scenarios.reads import judged

CHARGER = "7f6a0c1e-2b7d-4f0e-9c44-0d9b6a0e5a11"


@pytest.mark.parametrize(("status", "body", "kind"), [
    (200, {"charger_id": CHARGER, "position": 42}, "fresh"),
    (200, {"charger_id": CHARGER, "position": 50}, "fresh"),
    (200, {"charger_id": CHARGER, "position": 41}, "stale"),
    (200, {"charger_id": "another", "position": 42}, "stale"),
    (200, {"charger_id": CHARGER}, "stale"),
    (404, {"error": "not_found", "position": 41}, "stale"),
    (404, {"error": "not_found", "position": 42}, "stale"),
    (503, {"error": "stale", "position": 41}, "behind"),
    (503, {"error": "stale", "position": 42}, "stale"),
    (502, {}, "down"),
    (500, {"position": 42}, "down"),
])
def test_an_answer_is_judged_against_the_asked_position(
        status: int, body: dict[str, object], kind: str) -> None:
    assert judged(status, body, CHARGER, 42) == kind
