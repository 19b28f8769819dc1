"""Sealing and opening personal values: one cipher for the store's mapper and the log's
readers, so both give the same plain text, and the same pseudonym once a key is gone."""

from __future__ import annotations

import json
from uuid import uuid4

from services.access.domain.pseudonyms import pseudonym
from services.access.store.personal.fields import reveal
from services.access.store.personal.sealing import (
    Ciphers,
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
    assert Ciphers.of({kari: new_key()}).open(sealed, "email") == pseudonym(kari, "email")
    assert Ciphers.of({}).open(sealed, "email") == pseudonym(kari, "email")
    # Sealed under Kari's id as associated data: the same key under Ola's id fails.
    moved = sealed.replace(kari.hex, ola.hex)
    assert Ciphers.of({ola: key}).open(moved, "email") == pseudonym(ola, "email")


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
