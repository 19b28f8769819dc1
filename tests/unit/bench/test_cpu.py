"""bench.cpu: which part a process counts under, and CPU per command from two snapshots."""

from __future__ import annotations

from pathlib import Path

from bench.cpu import TICKS_PER_SECOND, Snapshot, medians, part_of, per_command, take


def test_parts_are_named_by_command_line_and_the_bench_by_its_pid() -> None:
    assert part_of("/v/bin/python /v/bin/access-service ", 10, 1) == "access-service"
    assert part_of("postgres: 15/main: postgres ca_bench_1 127.0.0.1(5) idle", 11, 1) == "postgres"
    assert part_of("/root/.calfkit/bin/tansu-v0.6.0 broker --listener-url tcp://x", 12, 1) == "tansu"
    assert part_of("python -m bench.peer_service db host", 13, 1) == "peer"
    assert part_of("python -m bench --only p1", 14, 14) == "bench"
    assert part_of("/usr/lib/postgresql/15/bin/postgres -D /var/lib/x", 16, 1) == "postgres"
    assert part_of("python -m some.tool postgresql://u@h/db", 17, 1) == "other"
    assert part_of("redis-server 127.0.0.1:6379", 15, 1) == "other"


def test_per_command_splits_what_each_part_spent_and_counts_newcomers_whole() -> None:
    tick = 1000 / TICKS_PER_SECOND  # ms
    before = Snapshot({1: ("access-service", 100), 2: ("postgres", 50), 3: ("postgres", 7)},
                      machine_busy=1000)
    after = Snapshot({1: ("access-service", 140), 2: ("postgres", 60), 3: ("postgres", 7),
                      4: ("postgres", 10)}, machine_busy=1080)
    got = per_command(before, after, commands=10)
    assert got == {"access-service": round(40 * tick / 10, 3),
                   "postgres": round(20 * tick / 10, 3),
                   "machine": round(80 * tick / 10, 3)}


def test_a_reused_pid_counts_from_zero_and_no_commands_gives_nothing() -> None:
    before = Snapshot({5: ("tansu", 900)}, machine_busy=0)
    after = Snapshot({5: ("postgres", 30)}, machine_busy=30)
    assert per_command(before, after, 3)["postgres"] == round(30 * 1000 / TICKS_PER_SECOND / 3, 3)
    assert per_command(before, after, 0) == {}


def test_medians_per_part_with_missing_parts_as_zero() -> None:
    assert medians([{"a": 1.0, "b": 4.0}, {"a": 3.0}, {"a": 2.0, "b": 2.0}]) == {"a": 2.0, "b": 2.0}


def test_take_reads_this_machine() -> None:
    snapshot = take(Path("/proc"))
    assert snapshot.machine_busy > 0
    own = [part for part, _ticks in snapshot.ticks.values() if part == "bench"]
    assert own == ["bench"]


def test_the_access_services_read_side_counts_apart_by_its_environment(tmp_path: Path) -> None:
    """`make run` starts the access service twice under one command line; the read side
    (`ACCESS_ROLE=queries`) is told apart by its environment, a `_ROLE` suffix is not."""
    stat = "1 (python) S " + " ".join(["0"] * 10) + " 5 6 0 0"
    for pid, environ in ((21, b"A=1\0ACCESS_ROLE=queries\0"), (22, b"ACCESS_ROLE=commands\0"),
                         (23, b"X_ACCESS_ROLE=queries\0")):
        entry = tmp_path / str(pid)
        entry.mkdir()
        (entry / "stat").write_text(stat)
        (entry / "cmdline").write_bytes(b"/v/bin/python\0/v/bin/access-service\0")
        (entry / "environ").write_bytes(environ)
    (tmp_path / "stat").write_text("cpu 1 2 3 4 5 6 7\n")

    ticks = take(tmp_path, own_pid=1).ticks

    assert {pid: part for pid, (part, _) in ticks.items()} == {
        21: "access-queries", 22: "access-service", 23: "access-service"}
    assert ticks[21][1] == 11
