"""`access-audit`: the auditors' command line over the event store (DATABASE_URL)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Audit the charger-access event store.", no_args_is_help=True)


@app.callback()
def main() -> None:
    """Audit the charger-access event store named by DATABASE_URL."""
