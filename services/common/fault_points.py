"""Deterministic crash points for the fault suite: `FAULT_POINT=name:N` makes the process
die (`os._exit`, no cleanup, like kill -9) the Nth time it reaches the point `name`.

Why: a kill at a random moment rarely lands in the narrow windows that matter (after a
commit but before the results are published, after an e-mail's last byte but before its
mark), so a clean run says little about them. A named point lands there every time.

Unset (production), `reached` returns at its first test of a module constant: the points
cost one function call each. The variable is read once, at import; `arm` re-reads it (tests).
Point names are `service.where`, listed in `POINTS` so the fault suite and the code agree.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import NoReturn

POINTS = (
    "access.before_commit",
    "access.after_commit_before_results",
    "access.after_results_before_offsets",
    "relay.after_publish_before_position",
    "projection.mid_batch",
    "scheduler.after_append",
    "notifications.after_claim",
    "notifications.mid_data",
    "notifications.after_last_byte_before_mark",
    "notifications.after_mark_before_reply",
    "gateway.after_list_sent_before_confirmed",
    "gateway.mid_parts",
)
"""Every point placed in the code."""

EXIT_CODE = 86
"""What a process that died at a point exits with, so the suite tells it from a crash."""


def _die(code: int) -> NoReturn:
    os._exit(code)


_armed: str | None = None
_at = 0
_hits = 0
_exit: Callable[[int], object] = _die


def arm(spec: str | None, on_fire: Callable[[int], object] = _die) -> None:
    """Arm from a `name:N` spec (`name` alone means N = 1); None or "" disarms."""
    global _armed, _at, _hits, _exit
    _hits, _exit = 0, on_fire
    if not spec:
        _armed, _at = None, 0
        return
    name, _, count = spec.partition(":")
    if name not in POINTS:
        raise ValueError(f"FAULT_POINT names no known point: {name!r} (known: {POINTS})")
    _armed, _at = name, int(count or 1)
    if _at < 1:
        raise ValueError("FAULT_POINT's count starts at 1")


def reached(name: str) -> None:
    """The process passes point `name`: die here if it is the armed one, the Nth time."""
    if _armed is None or name != _armed:
        return
    global _hits  # noqa: PLW0603
    _hits += 1
    if _hits == _at:
        sys.stderr.write(f"FAULT_POINT {name}:{_at} reached: exiting {EXIT_CODE}\n")
        sys.stderr.flush()
        _exit(EXIT_CODE)


arm(os.environ.get("FAULT_POINT"))
