"""`access-audit`: the auditors' command line over the event store (DATABASE_URL).

Tables for people, `--json` for machines; progress bars (on stderr, only on a terminal)
on the commands that walk the whole log. Exit code 1 means the audit found a problem:
a broken chain, or rebuilt read models that differ from the live ones. `rebuild` is the
operators' `access-rebuild` command itself (`services.access.rebuild_cli`).
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager, contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Literal, TextIO, TypeVar, cast

import asyncpg
import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rich.console import Console
from rich.progress import Progress
from rich.table import Table

from services.access.audit import service, signing
from services.access.audit.review import review
from services.access.audit.store import head
from services.access.audit.timeline import Kind, Subject
from services.access.audit.window_words import window_phrase
from services.access.domain.windows import Window
from services.access.rebuild_cli import rebuild_command
from services.common.config import DEFAULT_DATABASE_URL

app = typer.Typer(help="Audit the charger-access event store.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False)

T = TypeVar("T")

DatabaseUrl = Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL",
                                          help="The event store (PostgreSQL).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
Replay = Annotated[bool, typer.Option(
    "--replay", help="Replay the whole log instead of reading the projection's indexes "
    "(the same answer; they are used only where they cover what is asked).")]
Charger = Annotated[str | None, typer.Option("--charger", help="A charger id.")]
User = Annotated[str | None, typer.Option("--user", help="A user id.")]
SignWith = Annotated[Path | None, typer.Option(
    "--sign", help="Ed25519 private key (PKCS#8 PEM, `openssl genpkey -algorithm ed25519`): "
                   "also write FILE.sig, the raw signature of FILE's bytes.")]


def _run(work: Coroutine[Any, Any, T]) -> T:
    return asyncio.run(work)


@asynccontextmanager
async def _connect(url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(url)
    try:
        yield conn
    finally:
        await conn.close()


@contextmanager
def _progress(description: str, total: int) -> Iterator[Callable[[int], None]]:
    """A progress bar to `total` positions on stderr, when stderr is a terminal."""
    with Progress(console=err, transient=True, disable=not err.is_terminal) as bar:
        task = bar.add_task(description, total=max(total, 1))
        yield lambda position: bar.update(task, completed=position)


def _print_json(value: Any) -> None:
    sys.stdout.write(json.dumps(value, indent=2, default=str) + "\n")


def _one_subject(**given: str | None) -> Subject:
    chosen = [(kind, value) for kind, value in given.items() if value]
    if len(chosen) != 1:
        raise typer.BadParameter(f"give exactly one of {', '.join('--' + k for k in given)}")
    kind, value = chosen[0]
    return Subject(cast(Kind, kind), str(value))


@app.command("timeline")
def timeline_command(
    charger: Charger = None,
    user: User = None,
    group: Annotated[str | None, typer.Option("--group", help="A group id.")] = None,
    invitation: Annotated[str | None, typer.Option("--invitation",
                                                   help="An invitation id.")] = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: AsJson = False,
    replay: Replay = False,
) -> None:
    """Every event about a charger, user, group or invitation, in order, in words."""
    subject = _one_subject(charger=charger, user=user, group=group, invitation=invitation)

    async def collect() -> list[Any]:
        async with _connect(database_url) as conn:
            return await service.timeline(conn, subject, replay=replay)

    entries = _run(collect())
    if as_json:
        _print_json({"kind": subject.kind, "id": subject.id,
                     "events": [e.as_json() for e in entries]})
        return
    table = Table(title=f"Timeline of {subject.kind} {subject.id}")
    for column in ("#", "time (UTC)", "actor", "command", "what happened"):
        table.add_column(column, overflow="fold")
    for e in entries:
        table.add_row(str(e.position), f"{e.time:%Y-%m-%d %H:%M:%S}", e.actor_name or "",
                      (e.command_id or "")[:8], e.sentence)
    out.print(table)
    if not entries:
        out.print(f"No events about {subject.kind} {subject.id}.")


def _moment(value: str) -> datetime:
    try:
        return datetime.fromisoformat(value)
    except ValueError as exc:
        raise typer.BadParameter(f"{value!r} is not an ISO 8601 time") from exc


@app.command("access-at")
def access_at_command(
    at: Annotated[str, typer.Option("--at", help="ISO 8601 time; UTC when no offset.")],
    charger: Charger = None,
    user: User = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    as_json: AsJson = False,
    replay: Replay = False,
) -> None:
    """Who had access to a charger (or what a user had access to) at a moment, and why."""
    subject = _one_subject(charger=charger, user=user)
    kind: Literal["charger", "user"] = "charger" if subject.kind == "charger" else "user"
    moment = _moment(at)

    async def compute() -> service.AccessAt:
        async with _connect(database_url) as conn:
            return await service.access_at(conn, kind, subject.id, moment, replay=replay)

    answer = _run(compute())
    if as_json:
        _print_json(answer.as_json())
        return
    if not answer.exists:
        out.print(f"The {kind} {subject.id} did not exist at {answer.at.isoformat()}.")
        return
    other = "user" if kind == "charger" else "charger"
    table = Table(title=f"Access of {kind} {subject.id} at {answer.at.isoformat()} "
                        f"(log position {answer.position})")
    for column in (other, "level", "why"):
        table.add_column(column, overflow="fold")
    for entry in answer.entries:
        level = entry["level"] if entry["in_effect"] else f"{entry['level']} (not in effect)"
        table.add_row(entry[f"{other}_id"], level,
                      "; ".join(_reason(why) for why in entry["why"]))
    out.print(table)


_WINDOW = ("valid_from", "valid_until", "schedule")


def _reason(why: dict[str, Any]) -> str:
    """"share (charge, invitation_id …, from … until … on …)"."""
    extra = [f"{k} {v}" for k, v in why.items() if k not in ("source", "level", *_WINDOW)]
    window = window_phrase(Window.from_data({k: why.get(k) for k in _WINDOW}))
    extra += [window] if window else []
    return f"{why['source']} ({why['level']}{', ' + ', '.join(extra) if extra else ''})"


@app.command("export")
def export_command(
    first: Annotated[int, typer.Option("--from", help="First position (inclusive).")] = 0,
    last: Annotated[int | None, typer.Option("--to", help="Last position (inclusive).")] = None,
    out_file: Annotated[Path | None, typer.Option("--out", help="File to write; default "
                                                  "stdout.")] = None,
    sign: SignWith = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
) -> None:
    """The log as JSON lines (every stored event, its chain link, its envelope), streamed."""
    if sign is not None and out_file is None:
        raise typer.BadParameter("--sign needs --out (the signature goes beside the file)")
    key = _signing_key(sign)

    async def stream(sink: TextIO) -> int:
        count = 0
        async with _connect(database_url) as conn:
            with _progress("exporting", last or await head(conn)) as progress:
                async for position, line in service.export(conn, first, last):
                    sink.write(line)
                    count += 1
                    if count % 1000 == 0:
                        progress(position)
        return count

    if out_file is None:
        _run(stream(sys.stdout))
        return
    with out_file.open("w", encoding="utf-8") as sink:
        count = _run(stream(sink))
    err.print(f"{count} events written to {out_file}")
    _sign(out_file, key)


def _signing_key(path: Path | None) -> Ed25519PrivateKey | None:
    """The key, read before any work: a wrong key must not cost a whole export first."""
    if path is None:
        return None
    try:
        return signing.load_private_key(path)
    except (OSError, signing.SigningKeyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--sign") from exc


def _sign(evidence: Path, key: Ed25519PrivateKey | None) -> None:
    if key is not None:
        err.print(f"signature written to {signing.sign_file(evidence, key)}")


@app.command("review")
def review_command(
    charger: Annotated[str, typer.Option("--charger", help="A charger id.")],
    out_file: Annotated[Path, typer.Option("--out", help="File to write the review to.")],
    at: Annotated[str | None, typer.Option("--at", help="ISO 8601 time (UTC when no offset);"
                                           " default now.")] = None,
    sign: SignWith = None,
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    replay: Replay = False,
) -> None:
    """Who could charge on a charger at a moment and why, pinned to the hash chain, as JSON."""
    key = _signing_key(sign)
    moment = datetime.now(UTC) if at is None else _moment(at)

    async def compute() -> dict[str, Any]:
        async with _connect(database_url) as conn:
            return await review(conn, charger, moment, replay=replay)

    answer = _run(compute())
    out_file.write_text(json.dumps(answer, indent=2) + "\n", encoding="utf-8")
    err.print(f"{len(answer['users'])} users who could charge written to {out_file}")
    _sign(out_file, key)


@app.command("verify-signature")
def verify_signature_command(
    evidence: Annotated[Path, typer.Argument(help="The signed file (FILE.sig beside it).")],
    public_key: Annotated[Path, typer.Option("--public-key", help="Ed25519 public key (PEM, "
                                             "`openssl pkey -pubout`).")],
) -> None:
    """Exit 0 only when FILE.sig is a valid signature of FILE's exact bytes by the key."""
    try:
        key = signing.load_public_key(public_key)
    except (OSError, signing.SigningKeyError) as exc:
        raise typer.BadParameter(str(exc), param_hint="--public-key") from exc
    if not signing.is_intact(evidence, key):
        out.print(f"NOT VERIFIED: {evidence} does not match {signing.signature_path(evidence)}")
        raise typer.Exit(1)
    out.print(f"Verified: {evidence} is intact and signed by that key")


@app.command("verify")
def verify_command(database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
                   as_json: AsJson = False) -> None:
    """Walk the hash chain; name the first position that does not match (exit code 1)."""

    async def walk() -> Any:
        async with _connect(database_url) as conn:
            with _progress("verifying", await head(conn)) as progress:
                return await service.verify(conn, progress)

    verdict = _run(walk())
    if as_json:
        _print_json(verdict.as_json())
    elif verdict.ok:
        out.print(f"OK: {verdict.count} events chained, last position {verdict.last_position},"
                  f" last hash {verdict.last_hash}")
    else:
        out.print(f"BROKEN at position {verdict.broken_at}: {verdict.problem}. "
                  f"{verdict.count} events before it are intact (last hash "
                  f"{verdict.last_hash}).")
    if not verdict.ok:
        raise typer.Exit(1)


# `rebuild [--check] [--json]`: the operators' `access-rebuild` itself, under this tool.
app.command("rebuild")(rebuild_command)


def main() -> None:
    app()
