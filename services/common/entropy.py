"""Random bytes for AES-GCM nonces and token salts, drawn from the OS a page at a time.

Each `os.urandom` call releases the GIL around its syscall, and in the executor's thread
getting the GIL back waits on whatever the event loop's thread is running: py-spy put
~0.6 ms on each 16-byte salt at P2's load (6 Dec), for a syscall of a microsecond. Drawn
4 KiB at a time per thread, the same bytes of the same CSPRNG cost one syscall for a few
hundred nonces. Only for values that need be unique and unpredictable, not secret before
use: keys keep a draw of their own. A forked child starts a reserve of its own, so no two
processes ever hand out the same bytes.
"""

from __future__ import annotations

import os
import threading

PAGE = 4096


class _Reserve(threading.local):
    def __init__(self) -> None:
        self.data = b""
        self.at = 0


_reserve = _Reserve()


def _forget_in_child() -> None:
    _reserve.__init__()  # type: ignore[misc]  # a fresh, empty reserve for the child


os.register_at_fork(after_in_child=_forget_in_child)


def random_bytes(n: int) -> bytes:
    """`n` bytes from the OS's CSPRNG, each handed out once."""
    reserve = _reserve
    if reserve.at + n > len(reserve.data):
        reserve.data = os.urandom(max(PAGE, n))
        reserve.at = 0
    start = reserve.at
    reserve.at = start + n
    return reserve.data[start:start + n]
