"""The processes' log lines: plain text for a person at `make run`, JSON lines for a log
collector (`LOG_FORMAT=json`), each with the command, event and charger it is about
when the code logging it knows (`about`, context variables: they follow a task, and a
thread started with `asyncio.to_thread`)."""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from services.common.errors import SettingError

FORMAT_VARIABLE = "LOG_FORMAT"
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"

COMMAND_ID: ContextVar[str | None] = ContextVar("command_id", default=None)
EVENT_ID: ContextVar[str | None] = ContextVar("event_id", default=None)
CHARGER_ID: ContextVar[str | None] = ContextVar("charger_id", default=None)
_CONTEXT = (("command_id", COMMAND_ID), ("event_id", EVENT_ID), ("charger_id", CHARGER_ID))


@contextmanager
def about(*, command_id: str | None = None, event_id: str | None = None,
          charger_id: object = None) -> Iterator[None]:
    """Lines logged inside name these (those given; the others keep their value)."""
    tokens = [(var, var.set(str(value))) for var, value in
              ((COMMAND_ID, command_id), (EVENT_ID, event_id), (CHARGER_ID, charger_id))
              if value is not None]
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class JsonLines(logging.Formatter):
    """One JSON object a line: time (UTC, ISO 8601), level, logger, message, the ids in
    context, and the traceback as `exception` when there is one."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name, var in _CONTEXT:
            value = var.get()
            if value is not None:
                line[name] = value
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        return json.dumps(line, ensure_ascii=False)


def configure(quiet: Iterable[str] = ()) -> None:
    """Logging at INFO (`quiet` loggers at WARNING) in the format `LOG_FORMAT` names:
    `text` (the default) or `json`."""
    chosen = os.environ.get(FORMAT_VARIABLE, "text").strip().lower() or "text"
    if chosen not in ("text", "json"):
        raise SettingError(f"{FORMAT_VARIABLE} must be text or json, not {chosen!r}")
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if chosen == "json" else logging.Formatter(PLAIN))
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    for name in quiet:
        logging.getLogger(name).setLevel(logging.WARNING)
