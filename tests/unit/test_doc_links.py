"""Every link between our Markdown documents leads somewhere: the file exists, and an
anchor names a heading of it as GitHub spells heading anchors.

Documents are read by people who follow their links; a heading renamed (a section's dates
or sizes change as the measurements do) silently breaks every link to it, as the README's
link to "Growth at fleet scale" was broken until this test."""

from __future__ import annotations

import re
import subprocess
import unicodedata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FENCE = re.compile(r"^(```|~~~).*?^\1", re.MULTILINE | re.DOTALL)
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t#]*$", re.MULTILINE)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    """The repository's Markdown files (a checkout without git: every one outside
    hidden and generated directories)."""
    try:
        listed = subprocess.run(
            ["git", "ls-files", "*.md"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.split()
    except (OSError, subprocess.CalledProcessError):
        listed = [
            str(p.relative_to(ROOT)) for p in ROOT.rglob("*.md")
            if not any(part.startswith(".") or part in ("var", "node_modules")
                       for part in p.relative_to(ROOT).parts)
        ]
    return sorted(ROOT / name for name in listed)


def slug(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, only letters, marks, digits, connector
    punctuation (`_`), `-` and spaces kept (inline code's backticks and links' brackets
    dropped), spaces made hyphens."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", heading).lower()
    kept = "".join(
        c for c in text
        if c in "- " or unicodedata.category(c)[0] in "LMN" or unicodedata.category(c) == "Pc"
    )
    return kept.replace(" ", "-")


def anchors(document: Path) -> set[str]:
    """Each heading's anchor; a repeated one gets -1, -2, … as on GitHub."""
    seen: dict[str, int] = {}
    result = set()
    for heading in HEADING.findall(FENCE.sub("", document.read_text(encoding="utf-8"))):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        result.add(base if count == 0 else f"{base}-{count}")
    return result


def links(document: Path) -> list[str]:
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    text = re.sub(r"`[^`\n]*`", "", text)  # a link written as code is not a link
    return [
        target for target in LINK.findall(text)
        if not re.match(r"^[a-z][a-z0-9+.-]*:", target)  # http:, mailto:, …
    ]


def test_slugs_are_githubs() -> None:
    assert slug("Growth at fleet scale (`make bench-growth`): 100 k, 1 M and 10 M events") == (
        "growth-at-fleet-scale-make-bench-growth-100-k-1-m-and-10-m-events"
    )
    assert slug("P5: the hand-over mark, measured (6 Dec, second session)") == (
        "p5-the-hand-over-mark-measured-6-dec-second-session"
    )
    assert slug("Rotating TOKEN_SECRET") == "rotating-token_secret"
    assert slug("Où l'accès ≤ 1,5 reste") == "où-laccès--15-reste"


@pytest.mark.parametrize("document", documents(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_link_leads_somewhere(document: Path) -> None:
    broken = []
    for target in links(document):
        path, _, anchor = target.partition("#")
        linked = (document.parent / path).resolve() if path else document
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and linked.suffix == ".md" and anchor not in anchors(linked):
            broken.append(f"{target}: no such heading")
    assert not broken, f"{document.relative_to(ROOT)}: " + "; ".join(broken)
