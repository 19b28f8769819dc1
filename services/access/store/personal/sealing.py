"""Sealing a personal value under its subject's key, and opening sealed values again.

The one place that knows the sealed form (`pii:v1:<subject hex>:<base64 nonce+data>`)
and AES-GCM: the store's mapper and the log's readers both open values here, so a value
whose key is gone reads as the same pseudonym everywhere. Only a deleted key means
forgotten: a value that does not authenticate under its subject's existing key (tampered
with, sealed under another key, a broken key) is corrupt, and says so — it raises
`CorruptPersonalDataError`, is logged, and counted (`CORRUPT.count`, on /metrics) — rather than
pass for a forgotten person.
"""

from __future__ import annotations

import base64
import json
import logging
import re
import threading
from binascii import a2b_base64
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.access.domain.pseudonyms import pseudonym
from services.common.entropy import random_bytes

log = logging.getLogger(__name__)

PREFIX = "pii:v1:"
SEALED_MARK = PREFIX.encode()
"""Bytes every sealed value starts with; a state without them has nothing to unseal."""
SUBJECT_PATTERN = re.compile(rb"pii:v1:([0-9a-f]{32}):")
_SEALED_VALUE = re.compile(rb'"(\w+)":"pii:v1:([0-9a-f]{32}):([A-Za-z0-9+/=]+)"')
_HEX = slice(len(PREFIX), len(PREFIX) + 32)
_DATA = len(PREFIX) + 33

Cipher = tuple[AESGCM, bytes]
"""A person's cipher and the associated data their values are sealed with (their id)."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def seal(key: bytes, subject: UUID, value: str) -> str:
    nonce = random_bytes(12)
    sealed = AESGCM(key).encrypt(nonce, value.encode(), subject.bytes)
    return f"{PREFIX}{subject.hex}:{base64.b64encode(nonce + sealed).decode()}"


def sealed_subject(value: object) -> UUID | None:
    if isinstance(value, str) and value.startswith(PREFIX):
        return UUID(hex=value[_HEX])
    return None


def sealed_subject_hex(value: Any) -> str | None:
    """The subject (hex id) of a sealed value; None for anything else."""
    if value.__class__ is str and value.startswith(PREFIX):
        return str(value[_HEX])
    return None


def subjects_in(stored_states: Iterable[bytes]) -> set[UUID]:
    return {UUID(hex=m.decode()) for s in stored_states for m in SUBJECT_PATTERN.findall(s)}


class CorruptPersonalDataError(Exception):
    """A sealed value that does not authenticate under its subject's key."""

    def __init__(self, subject: str, field: str) -> None:
        super().__init__(f"sealed {field!r} of subject {subject} does not authenticate "
                         "under its key: corrupt or tampered with (not forgotten)")
        self.subject = subject
        self.field = field


class CorruptTally:
    """How many sealed values failed to authenticate in this process (thread-safe: the
    store's mapper opens values in worker threads)."""

    def __init__(self) -> None:
        self.count = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.count += 1


CORRUPT = CorruptTally()


def decrypt(cipher: Cipher | None, data: bytes | str, subject: str = "?",
            field: str = "?") -> str | None:
    """The plain text of a sealed value's data part; None without a key (forgotten).
    Raises `CorruptPersonalDataError` if it does not authenticate under the key."""
    if cipher is None:
        return None
    try:
        raw = a2b_base64(data)
        return cipher[0].decrypt(raw[:12], raw[12:], cipher[1]).decode()
    except (InvalidTag, ValueError) as exc:  # ValueError: bad base64, short data, bad UTF-8
        CORRUPT.add()
        log.error("corrupt personal data: sealed %r of subject %s does not authenticate (%s)",
                  field, subject, type(exc).__name__)
        raise CorruptPersonalDataError(subject, field) from None


class Ciphers:
    """The ciphers of the people a batch names, by subject (hex id), each made once."""

    def __init__(self, ciphers: dict[str, Cipher]) -> None:
        self._ciphers = ciphers

    @classmethod
    def of(cls, keys: Mapping[UUID, bytes]) -> Ciphers:
        return cls({s.hex: (AESGCM(key), s.bytes) for s, key in keys.items()})

    def open(self, value: str, field: str) -> str | None:
        """A sealed value's plain text (its pseudonym, or None for a phone, when forgotten);
        others as they are."""
        if not value.startswith(PREFIX):
            return value
        subject = value[_HEX]
        plain = decrypt(self._ciphers.get(subject), value[_DATA:], subject, field)
        return plain if plain is not None else pseudonym(UUID(hex=subject), field)

    def unseal_state(self, state: bytes) -> bytes:
        """A stored JSON text with every sealed value replaced by its plain text (as JSON).

        Readers that decode stored JSON their own way (the event log's fast path) call
        this first, so they never see sealed values and need no knowledge of them.
        """
        if SEALED_MARK not in state:
            return state

        def replace(match: re.Match[bytes]) -> bytes:
            field, subject = match[1], match[2].decode()
            value = decrypt(self._ciphers.get(subject), match[3], subject, field.decode())
            if value is None:
                value = pseudonym(UUID(hex=subject), field.decode())
            return b'"' + field + b'":' + json.dumps(value).encode()

        return _SEALED_VALUE.sub(replace, state)
