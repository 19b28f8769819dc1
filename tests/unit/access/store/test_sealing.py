"""Sealing and opening personal values: one cipher for the store's mapper and the log's
readers, so both give the same plain text, and the same pseudonym once a key is gone."""

from __future__ import annotations

import base64
import json
import logging
from uuid import uuid4

import pytest

from services.access.domain.pseudonyms import pseudonym
from services.access.store.personal.fields import reveal
from services.access.store.personal.sealing import (
    CORRUPT,
    Ciphers,
    CorruptPersonalDataError,
    new_key,
    seal,
    sealed_subject,
    sealed_subject_hex,
)


def compact(state: dict[str, object]) -> bytes:
    """As the store writes JSON: no spaces."""
    return json.dumps(state, separators=(",", ":")).encode()


def test_a_sealed_value_opens_with_its_subjects_key_only() -> None:
    kari, ola = uuid4(), uuid4()
    key = new_key()
    sealed = seal(key, kari, "kari@example.no")
    assert "kari" not in sealed
    assert sealed_subject(sealed) == kari
    assert sealed_subject_hex(sealed) == kari.hex
    assert Ciphers.of({kari: key}).open(sealed, "email") == "kari@example.no"
    assert Ciphers.of({}).open(sealed, "email") == pseudonym(kari, "email")  # forgotten
    with pytest.raises(CorruptPersonalDataError):
        Ciphers.of({kari: new_key()}).open(sealed, "email")
    # Sealed under Kari's id as associated data: the same key under Ola's id fails.
    moved = sealed.replace(kari.hex, ola.hex)
    with pytest.raises(CorruptPersonalDataError):
        Ciphers.of({ola: key}).open(moved, "email")


def _flipped(sealed: str, at: int) -> str:
    """The sealed value with one base64 character of its data changed."""
    prefix, data = sealed.rsplit(":", 1)
    raw = bytearray(base64.b64decode(data))
    raw[at] ^= 0x01
    return f"{prefix}:{base64.b64encode(bytes(raw)).decode()}"


@pytest.mark.parametrize("at", [0, 11, 12, -1])  # nonce, first data byte, tag
def test_corrupt_ciphertext_is_an_error_logged_and_counted_never_a_pseudonym(
        at: int, caplog: pytest.LogCaptureFixture) -> None:
    kari = uuid4()
    key = new_key()
    corrupt = _flipped(seal(key, kari, "kari@example.no"), at)
    before = CORRUPT.count
    with caplog.at_level(logging.ERROR), pytest.raises(CorruptPersonalDataError) as raised:
        Ciphers.of({kari: key}).open(corrupt, "email")
    assert raised.value.subject == kari.hex
    assert raised.value.field == "email"
    assert CORRUPT.count == before + 1
    assert any("corrupt personal data" in r.getMessage() and kari.hex in r.getMessage()
               for r in caplog.records)
    assert "kari@example.no" not in caplog.text
    # The stored-text path (the log's readers) and the mapper's path (the write side) alike.
    with pytest.raises(CorruptPersonalDataError):
        Ciphers.of({kari: key}).unseal_state(compact({"email": corrupt}))
    with pytest.raises(CorruptPersonalDataError):
        reveal({"email": corrupt}, {kari: key})
    assert CORRUPT.count == before + 3


@pytest.mark.parametrize("data", ["!!!", "", "QUJD"])  # not base64; empty; too short
def test_sealed_data_that_is_not_even_ciphertext_is_corrupt(data: str) -> None:
    kari = uuid4()
    with pytest.raises(CorruptPersonalDataError):
        Ciphers.of({kari: new_key()}).open(f"pii:v1:{kari.hex}:{data}", "name")


def test_a_deleted_key_alone_reads_as_forgotten_and_is_not_counted() -> None:
    kari = uuid4()
    sealed = seal(new_key(), kari, "Kari")
    before = CORRUPT.count
    assert Ciphers.of({}).open(sealed, "name") == pseudonym(kari, "name")
    assert json.loads(Ciphers.of({}).unseal_state(compact({"name": sealed}))) == {
        "name": pseudonym(kari, "name")}
    assert CORRUPT.count == before


def test_plain_values_pass_through_unchanged() -> None:
    assert Ciphers.of({}).open("Garasje", "name") == "Garasje"
    assert Ciphers.of({}).unseal_state(b'{"name":"Garasje"}') == b'{"name":"Garasje"}'
    assert sealed_subject("Garasje") is None
    assert sealed_subject_hex(42) is None


def test_opening_a_stored_json_text_and_a_decoded_state_give_the_same_values() -> None:
    kari, gone = uuid4(), uuid4()
    key = new_key()
    state = {"email": seal(key, kari, "kari@example.no"), "level": "charge",
             "user": {"user_id": str(gone), "name": seal(new_key(), gone, "Ola")}}
    keys = {kari: key}

    from_text = json.loads(Ciphers.of(keys).unseal_state(compact(state)))
    decoded = json.loads(json.dumps(state))
    reveal(decoded, keys)

    assert from_text == decoded
    assert decoded["email"] == "kari@example.no"
    assert decoded["user"]["name"] == pseudonym(gone, "name")
