"""`make bench-growth GROWTH_ARGS=--own-cluster DIR` runs on a PostgreSQL cluster of its
own: started for the run, stopped after it, and kept on disk with the fleets written into
it, so the next run reuses them instead of writing 10 M events again."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bench.growth.__main__ import parse_args
from bench.growth.cluster import own_cluster
from services.local.postgres import answers, database_exists

pytestmark = pytest.mark.integration


def test_the_own_cluster_runs_for_the_run_and_keeps_its_databases(cluster_dir: Path) -> None:
    with own_cluster(cluster_dir / "pg", cluster_dir) as admin_url:
        assert admin_url is not None
        assert answers(admin_url)
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute("CREATE DATABASE ca_growth_kept")
    assert not answers(admin_url, timeout=1.0), "stopped at the end of the run"

    with own_cluster(cluster_dir / "pg", cluster_dir) as again:
        assert again is not None
        assert database_exists(again, "ca_growth_kept"), "the next run finds its fleets"
    assert (cluster_dir / "own-cluster.log").stat().st_size > 0


def test_without_a_directory_nothing_is_started(cluster_dir: Path) -> None:
    with own_cluster(None, cluster_dir) as admin_url:
        assert admin_url is None
    assert list(cluster_dir.iterdir()) == []


def test_the_option_names_the_directory() -> None:
    assert parse_args(["--own-cluster", "var/growth-cluster"]).own_cluster == Path(
        "var/growth-cluster")
    assert parse_args([]).own_cluster is None
