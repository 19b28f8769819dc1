"""Every fault point placed in the code is run by a scenario, or named as not run (and then
the fault-points report says so): a point added without a scenario fails here."""

from __future__ import annotations

import pytest

from faults.scenarios import fault_points, kill_gateway
from services.common.fault_points import POINTS


def test_every_point_is_run_by_exactly_one_scenario_or_listed_as_not_run() -> None:
    run = [*fault_points.RUN, *kill_gateway.GATEWAY_POINTS]
    assert len(run) == len(set(run))
    assert set(run) | fault_points.NOT_UNDER_TRAFFIC == set(POINTS)
    assert not set(run) & fault_points.NOT_UNDER_TRAFFIC


def test_the_gateway_scenario_runs_both_gateway_points() -> None:
    assert set(kill_gateway.GATEWAY_POINTS) == {
        "gateway.after_list_sent_before_confirmed",
        "gateway.mid_parts",
    }
    assert not set(kill_gateway.GATEWAY_POINTS) & set(fault_points.RUN)


def test_the_scheduler_point_runs_by_default_and_alone_when_named() -> None:
    assert fault_points.SCHEDULER in fault_points.RUN
    assert fault_points.chosen(fault_points.SCHEDULER) == (fault_points.SCHEDULER,)


def test_a_subset_of_points_is_run_in_the_scenario_order() -> None:
    assert fault_points.chosen(None) == fault_points.RUN
    assert fault_points.chosen("") == fault_points.RUN
    assert fault_points.chosen(" scheduler.after_append , access.before_commit") == (
        "access.before_commit",
        "scheduler.after_append",
    )
    with pytest.raises(ValueError, match=r"gateway\.mid_parts"):
        fault_points.chosen("gateway.mid_parts")
    with pytest.raises(ValueError, match=r"access\.typo"):
        fault_points.chosen("access.typo")
