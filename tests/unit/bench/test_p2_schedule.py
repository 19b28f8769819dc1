"""P2 times every command from its due time in the open-loop schedule and counts every
one: a client that falls behind, or a command the system rejects, must show in the
figures (no timing asserted beyond the order the schedule imposes)."""

from __future__ import annotations

import asyncio
import time

from bench.p2_freshness import RESULT_WAIT, Answer, freshness, open_loop, rate_for, seconds_for


def test_freshness_is_from_the_due_time_and_failures_count_at_the_bound() -> None:
    assert freshness(10.0, Answer(10.25)) == 0.25
    assert freshness(10.0, Answer(10.25, "rejected unknown_user (timed)")) == 0.25
    assert freshness(10.0, Answer(10.25, "http 500", failed=True)) == RESULT_WAIT
    assert freshness(10.0, Answer(10.0 + RESULT_WAIT + 1, "error", failed=True)) == RESULT_WAIT + 1


async def test_commands_whose_tasks_start_late_are_timed_from_their_due_time() -> None:
    stall = 0.06

    async def one(i: int) -> Answer:
        if i == 0:
            time.sleep(stall)  # noqa: ASYNC251 -- blocks the loop: the next tasks start late
        return Answer(time.monotonic())

    latencies, errors = await open_loop(rate=100.0, seconds=0.05, one=one)
    assert len(latencies) == 5
    assert not errors
    # Command i was due at i * 10 ms but could not run before the 60 ms stall ended;
    # timed from when its task ran, each would be ~0.
    for i in range(1, 5):
        assert latencies[i] >= stall - i / 100.0 - 0.005


async def test_rejected_and_failed_commands_are_counted_not_dropped() -> None:
    async def one(i: int) -> Answer:
        now = time.monotonic()
        if i % 3 == 1:
            return Answer(now, "rejected charger_exists (timed)")
        if i % 3 == 2:
            return Answer(now, "http 500 (counted at the bound)", failed=True)
        return Answer(now)

    latencies, errors = await open_loop(rate=200.0, seconds=0.03, one=one)
    assert len(latencies) == 6
    assert errors == {"rejected charger_exists (timed)": 2, "http 500 (counted at the bound)": 2}
    assert sorted(latencies)[-2:] == [RESULT_WAIT, RESULT_WAIT]
    assert max(sorted(latencies)[:4]) < RESULT_WAIT


def test_the_load_is_half_of_what_p1_measured_and_the_plan_only_without_it() -> None:
    assert rate_for({"median_rate": 740.0}, fallback=500.0) == 370.0
    assert rate_for({}, fallback=500.0) == 500.0
    assert seconds_for(370.0, sustained=740.0, planned=4.0) == 4.0
    assert seconds_for(500.0, sustained=None, planned=4.0) == 4.0
    # The fallback rate over what the write side showed it sustains: ~8 s of that.
    assert seconds_for(500.0, sustained=100.0, planned=4.0) == 1.6


async def test_the_load_generators_own_lag_is_reported_apart() -> None:
    async def one(i: int) -> Answer:
        sent = time.monotonic()
        if i == 0:
            time.sleep(0.03)  # noqa: ASYNC251 -- the generator falls behind here
        return Answer(time.monotonic(), sent=sent)

    lags: list[float] = []
    latencies, _ = await open_loop(rate=100.0, seconds=0.03, one=one, lags=lags)
    assert len(lags) == len(latencies) == 3
    assert lags[0] < 0.005
    assert lags[1] >= 0.03 - 0.01 - 0.005
    assert all(lag <= latency for lag, latency in zip(lags, latencies, strict=True))


async def test_each_visible_command_is_split_at_its_result_and_the_halves_add_up() -> None:
    async def one(i: int) -> Answer:
        if i == 1:
            return Answer(time.monotonic(), "rejected forbidden (timed)")  # no halves
        await asyncio.sleep(0.01)
        result = time.monotonic()
        await asyncio.sleep(0.02)
        return Answer(time.monotonic(), result=result)

    halves: list[tuple[float, float]] = []
    latencies, _ = await open_loop(rate=100.0, seconds=0.03, one=one, halves=halves)

    assert len(halves) == 2
    for (to_result, to_visible), latency in zip(halves, latencies[::2], strict=True):
        assert to_result >= 0.01
        assert to_visible >= 0.02
        assert abs(to_result + to_visible - latency) < 1e-6
