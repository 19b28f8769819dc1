"""The rebuild command: replay the whole log into fresh read-model tables.

    access-rebuild                  # rebuild and swap in; prints events/s
    access-rebuild --check          # rebuild into scratch tables, compare, change nothing
    access-rebuild --check --json   # the comparison for machines; exit 1 when it differs

One command with two names: `access-rebuild` (`make rebuild`) for operators, and the
auditors' `access-audit rebuild` (the same function, registered in their tool). Uses
DATABASE_URL. Progress goes to stderr: a bar on a terminal, a plain line every few
seconds otherwise (CI logs). The comparison (`audit.rebuild_check`): per table, row count
and an md5 digest of the rows in canonical order and, where they differ, the first rows
only one side has. The service may keep running: the swap and the comparison hold the
live tracking row, so they see one consistent position.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Annotated, Any

import asyncpg
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from services.access.audit.rebuild_check import CheckReport, check_rebuild
from services.access.eventlog.reader import EventLog, pooled
from services.access.projection.rebuild import rebuild
from services.access.projection.records import ProjectionLog
from services.access.projection.sql import DEFAULT_SCHEMA, checked_schema
from services.common.config import DEFAULT_DATABASE_URL

PLAIN_EVERY = 2.0
"""Seconds between plain progress lines when stderr is not a terminal."""

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class Rebuilt:
    position: int
    events: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds > 0 else 0.0

    def as_json(self) -> dict[str, Any]:
        return {"position": self.position, "events": self.events,
                "seconds": round(self.seconds, 3), "events_per_second": round(self.rate)}


async def run_rebuild(
    database_url: str,
    *,
    schema: str = DEFAULT_SCHEMA,
    batch_size: int = 2000,
    progress: ProgressFn | None = None,
) -> Rebuilt:
    """Replay the log into fresh tables and swap them in as `schema`."""
    checked_schema(schema)
    counted = 0

    def seen(position: int, count: int) -> None:
        nonlocal counted
        counted = count
        if progress is not None:
            progress(position, count)

    # One writes batch N while another reads and decodes batch N+1; at the end, the
    # tables are finished on two at once (`finishing.FINISHING_CONNECTIONS`).
    async with asyncpg.create_pool(database_url, min_size=2, max_size=3) as pool:
        started = time.perf_counter()
        position = await rebuild(pool, pooled(pool, ProjectionLog()), schema=schema,
                                 batch_size=batch_size, progress=seen)
        return Rebuilt(position, counted, time.perf_counter() - started)


async def run_check(
    database_url: str, *, schema: str = DEFAULT_SCHEMA, progress: ProgressFn | None = None
) -> CheckReport:
    """Rebuild into scratch tables up to the live position and compare them with `schema`."""
    checked_schema(schema)
    async with asyncpg.create_pool(database_url, min_size=2, max_size=3) as pool:
        return await check_rebuild(pool, live=schema, progress=progress)


async def store_head(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        return await EventLog().head(conn)
    finally:
        await conn.close()


@contextmanager
def _progress(console: Console, total: int) -> Iterator[ProgressFn]:
    """A rich bar on a terminal; otherwise a plain line every PLAIN_EVERY seconds."""
    if console.is_terminal:
        columns = (TextColumn("replaying"), BarColumn(), MofNCompleteColumn(),
                   TextColumn("positions, {task.fields[events]} events"),
                   TimeRemainingColumn())
        with Progress(*columns, console=console, transient=True) as bar:
            task = bar.add_task("replay", total=max(total, 1), events=0)
            yield lambda position, count: bar.update(task, completed=position, events=count)
        return
    last = 0.0

    def line(position: int, count: int) -> None:
        nonlocal last
        now = time.monotonic()
        if now - last >= PLAIN_EVERY:
            last = now
            console.print(f"replaying: position {position} of {total}, {count} events")

    yield line


app = typer.Typer(add_completion=False, pretty_exceptions_enable=False)


@app.command()
def rebuild_command(
    check: Annotated[bool, typer.Option(
        "--check", help="Rebuild into scratch tables and compare with the live ones; "
        "swap nothing. Exit code 1 when they differ.")] = False,
    schema: Annotated[str, typer.Option(help="The live read models' schema.")] = DEFAULT_SCHEMA,
    batch_size: Annotated[int, typer.Option(min=1, help="Events per batch.")] = 2000,
    database_url: Annotated[str, typer.Option(envvar="DATABASE_URL",
                                              help="The event store.")] = DEFAULT_DATABASE_URL,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Replay the log into fresh read models and swap them in (--check: compare only)."""
    out = Console(highlight=False, soft_wrap=True)
    err = Console(stderr=True, highlight=False)
    total = asyncio.run(store_head(database_url))
    if check:
        with _progress(err, total) as progress:
            report = asyncio.run(run_check(database_url, schema=schema, progress=progress))
        if as_json:
            sys.stdout.write(json.dumps(report.as_json(), indent=2) + "\n")
        else:
            print_report(out, report)
        if not report.ok:
            raise typer.Exit(1)
        return
    with _progress(err, total) as progress:
        done = asyncio.run(run_rebuild(database_url, schema=schema, batch_size=batch_size,
                                       progress=progress))
    if as_json:
        sys.stdout.write(json.dumps(done.as_json()) + "\n")
    else:
        out.print(f"Rebuilt schema {schema} up to position {done.position}: {done.events} "
                  f"events in {done.seconds:.2f} s ({done.rate:,.0f} events/s).")


def print_report(out: Console, report: CheckReport) -> None:
    """One line per table (rows and digest on each side), then the first differing rows."""
    out.print(f"Rebuilt vs live read models at position {report.position}:")
    for t in report.tables:
        if t.equal:
            out.print(f"  {t.table:<16} equal      {t.live_rows:>8} rows  md5 {t.live_digest}"
                      + (f"  (after position {t.since}, where the index started)"
                         if t.since else ""))
        else:
            out.print(f"  {t.table:<16} DIFFERENT  live {t.live_rows} rows md5 {t.live_digest}"
                      f" / rebuilt {t.rebuilt_rows} rows md5 {t.rebuilt_digest}"
                      + (f"  (after position {t.since})" if t.since else ""))
            for row in t.only_live:
                out.print(f"      only live:    {row}")
            for row in t.only_rebuilt:
                out.print(f"      only rebuilt: {row}")
    out.print("OK: the rebuilt read models equal the live ones." if report.ok
              else "DIFFERENT: the live read models do not follow from the log.")


def cli() -> None:
    app()


if __name__ == "__main__":
    cli()
