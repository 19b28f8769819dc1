"""Person keys at rest: wrapped (AES-GCM) by a key-encryption key (KEK) kept outside the
database, so a dump or a backup of `person_keys` opens nothing without it.

KEKs come from `PERSON_KEY_KEK_FILE` (a file, one `id:base64-key` per line) or
`PERSON_KEY_KEK` (the same entries, separated by commas or newlines). Every listed KEK
unwraps; the last listed (or `PERSON_KEY_KEK_CURRENT`, by id) wraps. Each wrapped key is
stored beside its KEK's id, so rotation is: list a new KEK last, restart, run
`access-keys rotate`, drop the old one. A row without a KEK id is a key stored before
wrapping existed, read as it is until rotation wraps it.

With no KEK configured a fixed development KEK is used, with a warning: it is in the
source, so it protects nothing. It always stays known for unwrapping (what it wrapped was
never secret), so `access-keys rotate` moves a development database onto a real KEK.
"""

from __future__ import annotations

import base64
import binascii
import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.common.entropy import random_bytes

log = logging.getLogger(__name__)

KEK_ENV = "PERSON_KEY_KEK"
KEK_FILE_ENV = "PERSON_KEY_KEK_FILE"
KEK_CURRENT_ENV = "PERSON_KEY_KEK_CURRENT"
DEV_KEK_ID = "dev"
DEV_KEK = b"charger-access development KEK!!"  # 32 bytes, public: protects nothing
_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_NONCE = 12


class KekError(ValueError):
    """A KEK setting that cannot be used, or a stored key no configured KEK opens.

    Never a pseudonym: a key that exists but cannot be unwrapped is a configuration or
    integrity fault, not a forgotten person."""


@dataclass(frozen=True)
class WrappedKey:
    """A person key as stored: the wrapped bytes and the id of the KEK that wrapped them
    (None: stored in plaintext, before wrapping existed)."""

    data: bytes
    kek_id: str | None


class KeyEncryptionKeys:
    """The configured KEKs by id, and which one wraps."""

    def __init__(self, keks: Mapping[str, bytes], current: str) -> None:
        if current not in keks:
            raise KekError(f"the current KEK {current!r} is not among the configured ones")
        self._ciphers = {kek_id: AESGCM(key) for kek_id, key in keks.items()}
        self._ciphers.setdefault(DEV_KEK_ID, AESGCM(DEV_KEK))
        self._secrets = frozenset(keks.values())
        self.current = current

    @property
    def ids(self) -> frozenset[str]:
        return frozenset(self._ciphers)

    def holds(self, material: bytes) -> bool:
        """Whether `material` is one of the configured KEKs (for tests of dumps)."""
        return material in self._secrets

    def wrap(self, subject: UUID, key: bytes) -> WrappedKey:
        nonce = random_bytes(_NONCE)
        data = self._ciphers[self.current].encrypt(nonce, key, _bound(subject, self.current))
        return WrappedKey(nonce + data, self.current)

    def unwrap(self, subject: UUID, stored: WrappedKey) -> bytes:
        if stored.kek_id is None:
            return stored.data  # stored before wrapping: rotation wraps it
        cipher = self._ciphers.get(stored.kek_id)
        if cipher is None:
            raise KekError(f"the key of {subject} is wrapped by KEK {stored.kek_id!r}, "
                           "which is not configured (PERSON_KEY_KEK / PERSON_KEY_KEK_FILE)")
        data = stored.data
        try:
            return cipher.decrypt(data[:_NONCE], data[_NONCE:], _bound(subject, stored.kek_id))
        except InvalidTag:
            raise KekError(f"the key of {subject} does not unwrap under KEK "
                           f"{stored.kek_id!r}: corrupt, or moved from another subject") from None


def _bound(subject: UUID, kek_id: str) -> bytes:
    """Associated data: a wrapped key opens only as its own subject's, under its own id."""
    return subject.bytes + kek_id.encode()


def parse_keks(text: str, current: str | None = None) -> KeyEncryptionKeys:
    """KEKs from `id:base64` entries (commas or newlines between; `#` starts a comment)."""
    keks: dict[str, bytes] = {}
    entries = [e.strip() for line in text.splitlines()
               for e in line.split("#", 1)[0].split(",") if e.strip()]
    for entry in entries:
        kek_id, _, encoded = entry.partition(":")
        if not _ID.fullmatch(kek_id) or not encoded:
            raise KekError("a KEK entry is not `id:base64-key` (id: 1-64 of A-Z a-z 0-9 . _ -)")
        if kek_id in keks:
            raise KekError(f"KEK id {kek_id!r} is listed twice")
        keks[kek_id] = _decoded(kek_id, encoded)
    if not keks:
        raise KekError("no KEK listed")
    return KeyEncryptionKeys(keks, current or list(keks)[-1])


def _decoded(kek_id: str, encoded: str) -> bytes:
    try:
        key = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        raise KekError(f"KEK {kek_id!r} is not valid base64") from None
    if len(key) != 32:
        raise KekError(f"KEK {kek_id!r} is {len(key)} bytes; it must be 32 (AES-256)")
    return key


def new_kek_entry(kek_id: str) -> str:
    """A fresh `id:base64` line for the KEK file."""
    if not _ID.fullmatch(kek_id):
        raise KekError("a KEK id is 1-64 of A-Z a-z 0-9 . _ -")
    return f"{kek_id}:{base64.b64encode(AESGCM.generate_key(bit_length=256)).decode()}"


def configured_keks(env: Mapping[str, str] | None = None) -> KeyEncryptionKeys:
    """The KEKs the environment names (os.environ by default); read once per setting."""
    env = os.environ if env is None else env
    return load_keks(env.get(KEK_ENV) or None, env.get(KEK_FILE_ENV) or None,
                 env.get(KEK_CURRENT_ENV) or None)


@lru_cache(maxsize=8)
def load_keks(value: str | None, path: str | None, current: str | None) -> KeyEncryptionKeys:
    """The KEKs of one setting (the variable's text or a file's path), read and parsed
    once: readers ask for them on every batch."""
    if value and path:
        raise KekError(f"set {KEK_ENV} or {KEK_FILE_ENV}, not both")
    if path:
        try:
            value = Path(path).read_text()
        except OSError as exc:
            raise KekError(f"{KEK_FILE_ENV}: cannot read {path}: {exc.strerror}") from None
    if value:
        return parse_keks(value, current)
    log.warning("%s and %s are unset: person keys are wrapped by the public DEVELOPMENT "
                "KEK, which protects nothing. Set one of them outside development.",
                KEK_ENV, KEK_FILE_ENV)
    return KeyEncryptionKeys({DEV_KEK_ID: DEV_KEK}, DEV_KEK_ID)
