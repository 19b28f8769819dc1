"""`access-keys`: the operators' tool for the key-encryption keys (KEKs) of person keys.

    access-keys new-kek k2          # print a fresh `k2:<base64>` line for the KEK file
    access-keys status              # how many person keys each KEK wraps
    access-keys rotate              # rewrap every person key under the current KEK

Uses DATABASE_URL and the KEK settings the services use (PERSON_KEY_KEK_FILE or
PERSON_KEY_KEK, PERSON_KEY_KEK_CURRENT). `rotate` runs beside the services, in short
batches (`store/personal/rotation.py`); it exits 1 when keys remain under another KEK
(written meanwhile by an instance not yet given the new one): run it again then.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated

import asyncpg
import typer
from rich.console import Console

from services.access.store.personal.rotation import Rotated, key_counts, rewrap_all
from services.access.store.personal.wrapping import (
    KekError,
    KeyEncryptionKeys,
    configured_keks,
    new_kek_entry,
)
from services.common.config import DEFAULT_DATABASE_URL

app = typer.Typer(help="Key-encryption keys of the person keys.", no_args_is_help=True,
                  pretty_exceptions_enable=False)
out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)

DatabaseUrl = Annotated[str, typer.Option("--database-url", envvar="DATABASE_URL",
                                          help="The event store (PostgreSQL).")]
AsJson = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]
PLAINTEXT = "(plaintext)"
"""Keys stored before wrapping existed (no KEK id can contain parentheses)."""


@app.command("new-kek")
def new_kek(kek_id: Annotated[str, typer.Argument(help="The new KEK's id, e.g. k2.")]) -> None:
    """Print a fresh KEK entry; append it to PERSON_KEY_KEK_FILE (it becomes current)."""
    try:
        sys.stdout.write(new_kek_entry(kek_id) + "\n")
    except KekError as exc:
        raise typer.BadParameter(str(exc)) from None


@app.command()
def status(database_url: DatabaseUrl = DEFAULT_DATABASE_URL, as_json: AsJson = False) -> None:
    """How many person keys each KEK wraps, and which KEK is current."""
    keks = _keks()
    counts = asyncio.run(_counts(database_url))
    if as_json:
        sys.stdout.write(json.dumps({"current": keks.current,
                                     "keys": {k or PLAINTEXT: n for k, n in counts.items()}})
                         + "\n")
        return
    out.print(f"current KEK: {keks.current}")
    for kek, n in counts.items():
        out.print(f"  {kek or PLAINTEXT:<20} {n:>10} keys")


@app.command()
def rotate(
    database_url: DatabaseUrl = DEFAULT_DATABASE_URL,
    batch_size: Annotated[int, typer.Option(min=1, help="Keys per transaction.")] = 1000,
    as_json: AsJson = False,
) -> None:
    """Rewrap every person key under the current KEK, online, in short batches."""
    keks = _keks()
    done = asyncio.run(_rotate(database_url, batch_size))
    if as_json:
        sys.stdout.write(json.dumps({"current": done.current, "rewrapped": done.rewrapped,
                                     "remaining": done.remaining}) + "\n")
    else:
        out.print(f"Rewrapped {done.rewrapped} keys under KEK {keks.current}; "
                  f"{done.remaining} under another.")
    if done.remaining:
        err.print("Keys remain under another KEK: give every instance the new KEK and run "
                  "`access-keys rotate` again before removing the old one.")
        raise typer.Exit(1)


def _keks() -> KeyEncryptionKeys:
    try:
        return configured_keks()
    except KekError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None


async def _counts(database_url: str) -> dict[str | None, int]:
    conn = await asyncpg.connect(database_url)
    try:
        return await key_counts(conn)
    finally:
        await conn.close()


async def _rotate(database_url: str, batch_size: int) -> Rotated:
    conn = await asyncpg.connect(database_url)
    try:
        return await rewrap_all(conn, configured_keks(), batch_size=batch_size,
                                progress=lambda n: _every(n, 20 * batch_size))
    except KekError as exc:
        err.print(f"error: {exc}")
        raise typer.Exit(2) from None
    finally:
        await conn.close()


def _every(done: int, step: int) -> None:
    if done % step == 0:
        err.print(f"rewrapped {done} keys")


def cli() -> None:
    app()


if __name__ == "__main__":
    cli()
