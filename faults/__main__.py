"""`python -m faults` / `make faults`: run the fault scenarios, print the table, write JSON.

    python -m faults                      # every scenario, in order (~20 min)
    python -m faults --only kill-access   # one (or a comma-separated few)
    python -m faults --list
    python -m faults --snapshot           # the committed code (HEAD), not the working tree
    python -m faults --markdown           # the latest figures as a Markdown table

`--snapshot` runs everything (services, tools, this runner) from `git archive HEAD` plus
the working tree's `faults/`, so other people's unfinished edits cannot break a run.
SIGTERM stops a run as Ctrl-C does: the scenario's system is stopped first.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from faults.report import DEFAULT_OUT, Figures, markdown, table, write
from faults.scenarios import all_scenarios
from harness.signals import run_passing_sigterm, sigterm_unwinds


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m faults", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="", help="comma-separated scenario names")
    parser.add_argument("--list", action="store_true", help="list the scenarios and exit")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="where the JSON goes")
    parser.add_argument("--var", type=Path, default=Path("var/faults"), help="logs go here")
    parser.add_argument("--markdown", action="store_true",
                        help="print the figures of --out as a Markdown table and exit")
    parser.add_argument("--snapshot", action="store_true",
                        help="run the code of HEAD (git archive), not the working tree")
    args = parser.parse_args(argv)
    sigterm_unwinds()
    if args.snapshot and "FAULTS_SNAPSHOT_DIR" not in os.environ:
        return _in_snapshot(argv if argv is not None else sys.argv[1:], args)
    if args.markdown:
        print(markdown(args.out))
        return 0
    scenarios = all_scenarios()
    if args.list:
        for s in scenarios:
            print(f"  {s.name:<22} ~{s.budget_s:>4} s  {s.title}")
        return 0
    wanted = [n.strip() for n in args.only.split(",") if n.strip()]
    unknown = set(wanted) - {s.name for s in scenarios}
    if unknown:
        parser.error(f"unknown scenario(s) {sorted(unknown)}; see --list")
    chosen = [s for s in scenarios if not wanted or s.name in wanted]
    rows: list[Figures] = []
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for scenario in chosen:
        print(f"== {scenario.name}: {scenario.title}", flush=True)
        figures = scenario.run(args.var / stamp / scenario.name)
        figures.title = figures.title or scenario.title
        rows.append(figures)
        print(f"== {scenario.name}: {'ok' if figures.ok else 'FAILED'} "
              f"in {figures.seconds:.0f} s", flush=True)
        write(rows, args.out)
    print()
    print(table(rows))
    print(f"\nfigures written to {write(rows, args.out)}")
    return 0 if all(r.ok for r in rows) else 1


def _in_snapshot(argv: list[str], args: argparse.Namespace) -> int:
    """Run this command again inside an export of HEAD (with our `faults/` on top)."""
    here = Path.cwd()
    snapshot = Path(tempfile.mkdtemp(prefix="faults-code-"))
    try:
        archive = subprocess.run(["git", "archive", "HEAD"], cwd=here, capture_output=True,  # noqa: S607
                                 check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(snapshot)], input=archive, check=True)  # noqa: S603, S607
        shutil.rmtree(snapshot / "faults", ignore_errors=True)
        shutil.copytree(here / "faults", snapshot / "faults",
                        ignore=shutil.ignore_patterns("__pycache__"))
        env = {**os.environ, "FAULTS_SNAPSHOT_DIR": str(snapshot), "PYTHONPATH": str(snapshot)}
        again = [*argv, "--out", str(args.out.absolute()), "--var", str(args.var.absolute())]
        return run_passing_sigterm([sys.executable, "-m", "faults", *again], cwd=snapshot,
                                   env=env)
    finally:
        shutil.rmtree(snapshot, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
