"""services.common.entropy: nonces and salts from a per-thread reserve of OS randomness,
each byte handed out once, one syscall per page, and never the same bytes in a forked
child as in its parent (a repeated AES-GCM nonce under one key would be fatal)."""

from __future__ import annotations

import os
import threading

import pytest

from services.common import entropy


@pytest.fixture
def draws(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The sizes of the OS draws made from now on, with a fresh reserve."""
    made: list[int] = []
    real = os.urandom

    def counted(n: int) -> bytes:
        made.append(n)
        return real(n)

    monkeypatch.setattr(entropy.os, "urandom", counted)
    entropy._forget_in_child()
    return made


def test_each_byte_is_handed_out_once_and_a_page_is_one_draw(draws: list[int]) -> None:
    nonces = [entropy.random_bytes(12) for _ in range(entropy.PAGE // 12)]

    assert all(len(n) == 12 for n in nonces)
    assert len(set(nonces)) == len(nonces)
    assert draws == [entropy.PAGE]
    # the page's own bytes, in order, with nothing handed out twice
    assert len(b"".join(nonces)) == (entropy.PAGE // 12) * 12
    entropy.random_bytes(12)  # the page is spent: a second draw
    assert draws == [entropy.PAGE, entropy.PAGE]


def test_a_request_bigger_than_a_page_is_drawn_whole(draws: list[int]) -> None:
    assert len(entropy.random_bytes(entropy.PAGE + 5)) == entropy.PAGE + 5
    assert draws == [entropy.PAGE + 5]


def test_threads_draw_from_reserves_of_their_own(draws: list[int]) -> None:
    main = entropy.random_bytes(16)
    other: list[bytes] = []
    thread = threading.Thread(target=lambda: other.append(entropy.random_bytes(16)))
    thread.start()
    thread.join()

    assert draws == [entropy.PAGE, entropy.PAGE]
    assert other[0] != main


def test_a_forked_child_never_hands_out_its_parents_next_bytes() -> None:
    entropy.random_bytes(1)  # the parent holds a reserve
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: its next nonce, to the parent
        os.close(read)
        os.write(write, entropy.random_bytes(12))
        os._exit(0)
    os.close(write)
    child = os.read(read, 12)
    os.close(read)
    os.waitpid(pid, 0)

    assert len(child) == 12
    assert child != entropy.random_bytes(12)
