"""`GET /metrics` through HTTP against a real store: token required, Prometheus text,
projection lag from the store's last published position, falling to 0 once caught up."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from uuid import uuid4

import asyncpg
import httpx
import pytest

from services.access.api import create_app
from services.access.config import AccessSettings
from services.access.eventlog.reader import EventLog, pooled
from services.access.metrics import service_metrics
from services.access.projection.runner import ProjectionRunner
from services.access.projection.schema import create_schema

pytestmark = pytest.mark.integration

TOKEN = "metrics-token"


@dataclass
class Commands:
    outcomes: Counter[str] = field(default_factory=lambda: Counter({"accepted": 12, "forbidden": 1}))
    dead_letters: int = 2
    batches: int = 5


@dataclass
class Relay:
    position: int = 0
    published: int = 0


def samples(text: str) -> dict[str, str]:
    return {line.rsplit(" ", 1)[0]: line.rsplit(" ", 1)[1]
            for line in text.splitlines() if line and not line.startswith("#")}


async def test_metrics_need_a_token_and_report_lags_from_the_store(every_event_store: str) -> None:
    log = EventLog()
    async with asyncpg.create_pool(every_event_store, min_size=1, max_size=3) as pool:
        async with pool.acquire() as conn:
            await create_schema(conn, "read_metrics")
            head, published = await log.head(conn), await log.last_published(conn)
        runner = ProjectionRunner(pool, pooled(pool, log), schema="read_metrics")
        relay = Relay(position=published)
        app = create_app(pool, AccessSettings(api_tokens=frozenset({TOKEN})), runner, _ready,
                         schema="read_metrics", metrics=service_metrics(pool, log, runner, Commands(), relay))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api") as client:
            missing = await client.get("/metrics")
            assert missing.status_code == 401
            assert missing.json()["error"] == "unauthorized"

            before = await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
            assert before.status_code == 200
            assert before.headers["content-type"].startswith("text/plain; version=0.0.4")
            found = samples(before.text)
            assert found["access_projection_position"] == "0"
            assert found["access_store_head_position"] == str(head)
            assert found["access_store_published_position"] == str(published)
            assert found["access_projection_lag_positions"] == str(published)
            assert found["access_relay_lag_positions"] == "0"
            assert found['access_commands_total{status="accepted",reason=""}'] == "12"
            assert found['access_commands_total{status="rejected",reason="forbidden"}'] == "1"
            assert found["access_commands_dead_lettered_total"] == "2"

            assert await runner.catch_up() == published
            check = await client.get("/v1/access/check", params={"user_id": str(uuid4()), "charger_id": str(uuid4())},
                                     headers={"Authorization": f"Bearer {TOKEN}"})
            assert check.status_code == 200
            after = samples((await client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})).text)
            assert after["access_projection_position"] == str(published)
            assert after["access_projection_lag_positions"] == "0"
            # The histograms and the process metrics follow the counters.
            assert int(after["access_projection_lag_seconds_count"]) > int(found["access_projection_lag_seconds_count"])
            assert int(after["access_check_duration_seconds_count"]) == int(found["access_check_duration_seconds_count"]) + 1
            assert "access_command_duration_seconds_count" in after
            assert "access_command_batch_duration_seconds_count" in after
            assert int(after["process_resident_memory_bytes"]) > 0
            assert int(after['python_gc_pause_seconds_count{generation="0"}']) > 0


async def _ready() -> dict[str, bool]:
    return {}
