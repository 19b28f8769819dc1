"""Summaries of py-spy's collapsed stacks (`--format raw`): where the samples landed.

Each line is `frame;frame;...;leaf count`, a frame `function (file:line)`. We report the
leaf functions (self time) and the share of samples under each of our own modules.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

_FRAME = re.compile(r"^(?P<func>.*?) \((?P<file>[^:()]*)(?::\d+)?\)$")


def _short(frame: str) -> str:
    found = _FRAME.match(frame.strip())
    if not found:
        return frame.strip()
    path = found["file"]
    for marker in ("site-packages/", "/lib/python3.11/", "/work/main/"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{found['func']} ({path})"


def summarise(path: Path, top: int = 15) -> str:
    leaves: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    total = 0
    for line in path.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        total += count
        frames = [_short(f) for f in stack.split(";") if f]
        if frames:
            leaves[frames[-1]] += count
        seen = set()
        for frame in frames:
            inner = frame.rsplit("(", 1)[-1].rstrip(")")
            package = inner.split("/", 1)[0] if "/" in inner else inner
            seen.add(package.removesuffix(".py"))
        for package in seen:
            packages[package] += count
    if total == 0:
        return f"{path.name}: no samples\n"
    lines = [f"{path.name}: {total} samples", "  self (leaf) time:"]
    lines += [f"    {n / total:6.1%}  {f}" for f, n in leaves.most_common(top)]
    lines.append("  samples under (inclusive):")
    lines += [f"    {n / total:6.1%}  {p}" for p, n in packages.most_common(top)]
    return "\n".join(lines) + "\n"
