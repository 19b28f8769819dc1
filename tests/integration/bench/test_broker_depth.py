"""`bench.broker_depth` on the session's broker, at a tiny size: the rows it reports are
for the depths it says, counted by the broker itself (timing is not judged here)."""

from __future__ import annotations

import pytest

from bench.broker_depth import measure

pytestmark = pytest.mark.integration


async def test_each_step_adds_the_records_it_reports(kafka_bootstrap: str) -> None:
    steps, records, trips = 2, 30, 3
    seen: list[dict[str, object]] = []
    # One record in flight: Tansu's end offset of a partition whose last batch holds
    # several records falls short of them (seen here), and it is the broker's count that
    # checks the tool's.
    rows = await measure(kafka_bootstrap, steps, records, in_flight=1, size=100, trips=trips,
                         pollers=1, on_row=seen.append)

    assert seen == rows
    assert [row["records_added"] for row in rows] == [0, records, 2 * records]
    for step, row in enumerate(rows):
        # The broker's end offsets: the filling's records, plus each step's timed trips.
        assert row["records_in_topic"] == step * records + (step + 1) * trips
        assert all(row[key] > 0 for key in ("deep_produce_ms", "deep_round_trip_ms",
                                            "empty_produce_ms", "empty_round_trip_ms"))
        # Each trip is acked before it is consumed, so the medians keep that order.
        assert row["deep_produce_ms"] <= row["deep_round_trip_ms"]
        assert row["empty_produce_ms"] <= row["empty_round_trip_ms"]
