"""The client package stands alone: other services install it without the service, so it
must import nothing of ours outside itself, and its wheel must carry all it needs."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

CLIENT = Path(__file__).parents[3] / "clients" / "python"
SERVICE_ONLY = ["services", "harness", "bench", "faults", "faststream", "eventsourcing",
                "asyncpg", "psycopg", "fastapi", "events"]


def test_every_module_imports_with_the_service_and_its_libraries_absent() -> None:
    blocked = "; ".join(f"sys.modules[{name!r}] = None" for name in SERVICE_ONLY)
    modules = sorted(p.stem for p in (CLIENT / "charger_access_client").glob("*.py"))
    code = (f"import sys; {blocked}; import importlib; "
            f"[importlib.import_module('charger_access_client.' + m) for m in {modules!r}]; "
            "print(len(sys.modules))")
    done = subprocess.run([sys.executable, "-I", "-c", code], capture_output=True, text=True,
                          timeout=60, check=False, cwd="/")
    assert done.returncode == 0, done.stderr
    assert "__init__" in modules
    assert "cli" in modules


def test_it_declares_python_3_11_to_3_13_its_own_dependencies_only_and_its_types() -> None:
    """What pip reads (`pip install ./clients/python` into a fresh venv is checked by hand:
    this machine has 3.11 only, and a wheel build needs a registry)."""
    project = tomllib.loads((CLIENT / "pyproject.toml").read_text())
    declared = project["project"]
    assert declared["requires-python"] == ">=3.11,<3.14"
    assert {c for c in declared["classifiers"] if c.startswith("Programming Language")} == {
        f"Programming Language :: Python :: 3.{minor}" for minor in (11, 12, 13)}
    names = sorted(re.split(r"[<>=!~ \[]", d, maxsplit=1)[0] for d in declared["dependencies"])
    assert names == ["aiokafka", "pydantic", "tzdata"]
    assert declared["scripts"] == {"access-cli": "charger_access_client.cli:main"}
    assert project["tool"]["setuptools"]["package-data"] == {"charger_access_client": ["py.typed"]}
    assert (CLIENT / "charger_access_client" / "py.typed").is_file()
    # The service takes the contract from this package, at this version.
    service = tomllib.loads((CLIENT.parents[1] / "pyproject.toml").read_text())
    assert f"charger-access-client=={declared['version']}" in service["project"]["dependencies"]
