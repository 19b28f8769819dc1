"""Which measures a run takes (`--only`): the ones asked for and the ones they need.

P2 and P8 send their commands to the owners and chargers P1 registered, at a rate P1
measured (P8 measures P2's freshness itself, alternating with its own load);
P5 copies an invitation event P1's commands published;
P6 reports the memory sampled in every phase that ran (P1 and P3 at least). The others
stand alone (P7 loads P3's table itself when P3 did not run).
"""

from __future__ import annotations

MEASURES = ("P1", "P2", "P3", "P4", "P5", "P6", "P7", "P8")
NEEDS = {"P2": ("P1",), "P5": ("P1",), "P6": ("P1", "P3"), "P8": ("P1",)}


def select(only: str) -> tuple[str, ...]:
    """The measures of `only` ("p7", "P1,p3", "" for all) with what they need, in
    MEASURES' order; ValueError naming an unknown one."""
    asked = {name.strip().upper() for name in only.split(",") if name.strip()}
    if not asked:
        return MEASURES
    unknown = sorted(asked - set(MEASURES))
    if unknown:
        raise ValueError(f"unknown measure(s) {', '.join(unknown)}; "
                         f"known: {', '.join(MEASURES)}")
    for name in list(asked):
        asked.update(NEEDS.get(name, ()))
    return tuple(m for m in MEASURES if m in asked)
