"""A command that breaks a rule is rejected with one of SPEC's reason codes."""

from __future__ import annotations

from charger_access_client.envelope import Reason


class Rejected(Exception):  # noqa: N818 - a rejection is an outcome, not a failure
    def __init__(self, reason: Reason, detail: str) -> None:
        super().__init__(detail)
        self.reason: Reason = reason
        self.detail = detail
