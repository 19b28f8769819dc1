"""The gateway's `/metrics` page: its counters, then the process metrics and the garbage
collector's pauses, as the other services' pages have them."""

from __future__ import annotations

import gc

from services.ocpp_gateway.metrics import GatewayMetrics


def value(page: str, name: str) -> float:
    return float(next(line for line in page.splitlines() if line.startswith(name + " ")).split()[-1])


def test_the_page_ends_with_the_process_metrics_and_the_collectors_pauses() -> None:
    metrics = GatewayMetrics(lambda: {"1.6": 2})
    before = metrics.render()
    gc.collect()
    page = metrics.render()

    assert value(page, 'ocpp_gateway_connected_chargers{ocpp_version="1.6"}') == 2
    assert value(page, "process_resident_memory_bytes") > 0
    full = 'python_gc_pause_seconds_count{generation="2"}'
    assert value(page, full) >= value(before, full) + 1
    assert page.index("ocpp_gateway_list_changes_heard_total") < page.index("process_")
