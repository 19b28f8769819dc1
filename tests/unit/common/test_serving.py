"""A service that cannot start for a reason an operator fixes (a bad setting, a broker
that refuses it) says so in one line and exits with status 2; a bug still raises."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal

import pytest

from services.common.errors import SettingError
from services.common.kafka import KafkaUnreachableError
from services.common.kafka_security import KafkaSecurity, KafkaSettingError
from services.common.serving import (
    SERVICE_GC_THRESHOLDS,
    Service,
    freeze_startup_heap,
    run_service,
)
from services.notifications.smtp.security import SmtpSettingError


class Refused:
    def __init__(self, error: Exception) -> None:
        self.error = error

    async def start(self) -> None:
        raise self.error

    async def stop(self) -> None:
        pass


def bad_setting() -> Service:
    KafkaSecurity(protocol="TLS")
    raise AssertionError("not reached")


@pytest.mark.parametrize("make", [
    bad_setting,
    lambda: Refused(KafkaUnreachableError("cannot connect to Kafka at h:1 over SASL_SSL")),
])
def test_an_operators_problem_is_one_line_and_exit_status_2(
    make: object, caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as stopped:
        run_service(make)  # type: ignore[arg-type]
    assert stopped.value.code == 2
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage().startswith("cannot start: ")
    assert record.exc_info is None


def test_a_bug_is_not_dressed_up_as_a_setting() -> None:
    with pytest.raises(RuntimeError):
        run_service(lambda: Refused(RuntimeError("bug")))


def test_setting_errors_share_one_base() -> None:
    assert issubclass(KafkaSettingError, SettingError)
    assert issubclass(SmtpSettingError, SettingError)


def test_what_the_process_holds_once_started_is_left_out_of_collections() -> None:
    held = [[n] for n in range(100)]
    assert gc.is_tracked(held)
    try:
        freeze_startup_heap()
        walked = {id(o) for o in gc.get_objects()}
        assert gc.get_freeze_count() >= len(held)
        assert id(held) not in walked
        assert not any(id(item) in walked for item in held)
        made_later = [[1]]
        assert id(made_later) in {id(o) for o in gc.get_objects()}
    finally:
        gc.unfreeze()


class Started:
    """A service that stops itself right after starting (SIGTERM sent to this process)."""

    def __init__(self) -> None:
        self.thresholds: tuple[int, int, int] | None = None

    async def start(self) -> None:
        asyncio.get_running_loop().call_soon(os.kill, os.getpid(), signal.SIGTERM)

    async def stop(self) -> None:
        self.thresholds = gc.get_threshold()


@pytest.mark.parametrize(("text", "expected"), [
    ("", SERVICE_GC_THRESHOLDS), ("700,10,10", (700, 10, 10)), (" 5000, 20 ,30", (5000, 20, 30)),
])
def test_a_started_service_collects_with_the_thresholds_asked_for(
    monkeypatch: pytest.MonkeyPatch, text: str, expected: tuple[int, int, int]
) -> None:
    monkeypatch.setenv("GC_THRESHOLDS", text)
    before = gc.get_threshold()
    service = Started()
    try:
        run_service(lambda: service)
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
    assert service.thresholds == expected


@pytest.mark.parametrize("text", ["700,10", "a,b,c", "0,10,10", "700,10,10,1"])
def test_thresholds_that_cannot_work_stop_the_start_before_the_service_is_made(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    monkeypatch.setenv("GC_THRESHOLDS", text)
    made: list[object] = []
    with caplog.at_level(logging.ERROR), pytest.raises(SystemExit) as stopped:
        run_service(lambda: made.append(1) or Started())  # type: ignore[func-returns-value]
    assert stopped.value.code == 2
    assert made == []
    assert "GC_THRESHOLDS" in caplog.text
