"""`LOG_FORMAT=json`: one JSON object a line with the ids the logging code is about."""

from __future__ import annotations

import json
import logging
import sys

import pytest

from services.common.errors import SettingError
from services.common.logs import JsonLines, about, configure


def record(message: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("services.access.demo", logging.WARNING, __file__, 1, message,
                             args, exc_info)


def test_a_line_has_time_level_logger_and_message() -> None:
    line = json.loads(JsonLines().format(record("dead letter %s: %s", "x", "ünknown")))
    assert line["level"] == "WARNING"
    assert line["logger"] == "services.access.demo"
    assert line["message"] == "dead letter x: ünknown"
    assert line["time"].endswith("+00:00")
    assert set(line) == {"time", "level", "logger", "message"}


def test_the_ids_in_context_are_on_the_line_and_gone_after() -> None:
    formatter = JsonLines()
    with about(command_id="c-1", charger_id=42):
        with about(event_id="e-1"):
            inner = json.loads(formatter.format(record("inner")))
        outer = json.loads(formatter.format(record("outer")))
    after = json.loads(formatter.format(record("after")))
    assert (inner["command_id"], inner["event_id"], inner["charger_id"]) == ("c-1", "e-1", "42")
    assert "event_id" not in outer
    assert outer["command_id"] == "c-1"
    assert not {"command_id", "event_id", "charger_id"} & set(after)


def test_a_traceback_stays_inside_its_one_line() -> None:
    text = JsonLines().format(record("failed", exc=True))
    assert "\n" not in text
    assert "ValueError: boom" in json.loads(text)["exception"]


def test_an_unknown_log_format_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOG_FORMAT", "xml")
    with pytest.raises(SettingError, match="LOG_FORMAT"):
        configure()
