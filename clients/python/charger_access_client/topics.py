"""Kafka topic names of the public contract; `TOPIC_PREFIX` namespaces a deployment."""

from __future__ import annotations

import os
from dataclasses import dataclass

COMMANDS = "access.commands"
COMMAND_RESULTS = "access.command-results"
COMMANDS_DLQ = "access.commands.dlq"
EVENTS = "access.events"
LOCAL_LISTS = "access.local-lists"
NOTIFICATIONS_DLQ = "notifications.dlq"


@dataclass(frozen=True)
class Topics:
    """Topic names with the deployment's prefix applied."""

    prefix: str = ""

    @classmethod
    def from_env(cls) -> Topics:
        return cls(os.environ.get("TOPIC_PREFIX", ""))

    @property
    def commands(self) -> str:
        return self.prefix + COMMANDS

    @property
    def command_results(self) -> str:
        return self.prefix + COMMAND_RESULTS

    @property
    def commands_dlq(self) -> str:
        return self.prefix + COMMANDS_DLQ

    @property
    def events(self) -> str:
        return self.prefix + EVENTS

    @property
    def local_lists(self) -> str:
        return self.prefix + LOCAL_LISTS

    @property
    def notifications_dlq(self) -> str:
        return self.prefix + NOTIFICATIONS_DLQ

    def all(self) -> list[str]:
        return [
            self.commands,
            self.command_results,
            self.commands_dlq,
            self.events,
            self.local_lists,
            self.notifications_dlq,
        ]
