"""Calling back in the very callback that hands a connection's last buffered byte to the
kernel, not at a later turn of the event loop.

Why: the hand-over mark (`sent_log.hand_over`) must follow an e-mail's last byte by
microseconds: a kill between the two sends the e-mail again. When the kernel takes the
whole message at once (nearly always) the sender marks it right after its write. When it
does not (the socket's buffer full: a big message, a slow server or network), the rest
leaves from the transport's own write callback, where `drain` wakes its waiter: the sender
went on only at the loop's next turn, after whatever else was ready (a batch to parse, a
message to render), with the e-mail delivered and not yet marked, and a kill there sent it
again. So the call is made from inside the socket protocol's `resume_writing`, which
asyncio calls from that same write callback once the buffer is empty (the socket's
transport has no high-water mark: it is paused whenever it holds a byte).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from services.notifications.smtp.replies import ConnectionLostError

POLL_SECONDS = 0.05
"""How often the wait looks at the connection while the kernel's buffer is full: for a
connection lost meanwhile, whose write callback never comes."""


async def once_in_kernel(
    socket: asyncio.WriteTransport,
    unsent: Callable[[], int],
    callback: Callable[[], None],
    within: float,
) -> None:
    """Call `callback` once `unsent()` (the bytes written and not yet in the kernel, under
    TLS the TLS layer's too) is 0, in the callback of `socket` (the socket's own transport,
    with no high-water mark) that made it so; return after it was called. When it is 0
    already (nearly always), at once, before the first await: no timer is set up for
    that. Otherwise `TimeoutError` after `within` seconds (a cancellation unhooks it)."""

    def in_kernel() -> bool:
        return unsent() == 0

    if in_kernel():
        callback()
        return
    async with asyncio.timeout(within):
        await _when_drained(socket, in_kernel, callback)


async def _when_drained(
    socket: asyncio.WriteTransport, in_kernel: Callable[[], bool], callback: Callable[[], None]
) -> None:
    """The rest of `once_in_kernel`: the socket protocol's `resume_writing` hooked until
    the kernel has taken everything, polled meanwhile for a connection lost."""
    called = asyncio.get_running_loop().create_future()
    protocol = socket.get_protocol()
    resume = protocol.resume_writing

    def call() -> None:
        protocol.resume_writing = resume  # type: ignore[method-assign]
        called.set_result(None)
        callback()

    def resume_then_call() -> None:
        resume()  # under TLS this writes the next encrypted bytes, which may fill it again
        if in_kernel() and not called.done():
            call()

    protocol.resume_writing = resume_then_call  # type: ignore[method-assign]
    try:
        while not called.done():
            await asyncio.wait([called], timeout=POLL_SECONDS)
            if called.done():
                break
            if socket.is_closing():
                raise ConnectionLostError("the connection closed while sending")
            if in_kernel():
                call()  # emptied without a write callback (a TLS layer's own turn)
    finally:
        if not called.done():
            protocol.resume_writing = resume  # type: ignore[method-assign]
