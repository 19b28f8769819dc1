"""Scenarios that are test files already: run them with pytest in a process of their own
and report what they did."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

from faults.report import Figures


def run_pytest(figures: Figures, var: Path, paths: list[str], env: dict[str, str] | None = None,
               timeout: float = 900.0) -> subprocess.CompletedProcess[str]:
    var.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    done = subprocess.run(  # noqa: S603 - pytest of this environment on our own tests
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *paths],
        env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=timeout,
        check=False)
    (var / "pytest.log").write_text(done.stdout + done.stderr)
    figures.seconds = time.monotonic() - started
    summary = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else ""
    figures.details["pytest"] = summary
    passed = re.search(r"(\d+) passed", summary)
    figures.details["tests_passed"] = int(passed.group(1)) if passed else 0
    figures.checks["pytest passed"] = done.returncode == 0
    if done.returncode != 0:
        figures.notes.append(f"pytest: {summary} (log: {var / 'pytest.log'})")
    return done
