"""Folders for PostgreSQL clusters a test starts from the installed binaries."""

from __future__ import annotations

import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def cluster_folder(prefix: str) -> Iterator[Path]:
    """A folder the `postgres` user can enter, removed afterwards: as root, a cluster runs
    as `postgres`, and pytest's `tmp_path` is root's alone (mode 700)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    folder.chmod(stat.S_IRWXU | stat.S_IXGRP | stat.S_IXOTH)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)
