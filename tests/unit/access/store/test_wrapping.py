"""Person keys wrapped by key-encryption keys: any configured KEK unwraps, the newest
wraps, a key opens only as its own subject's, and what no KEK opens is an error, never a
pseudonym."""

from __future__ import annotations

import base64
import logging
import os
from pathlib import Path
from uuid import uuid4

import pytest

from services.access.store.personal.sealing import new_key
from services.access.store.personal.wrapping import (
    DEV_KEK_ID,
    KekError,
    WrappedKey,
    configured_keks,
    load_keks,
    new_kek_entry,
    parse_keks,
)


def test_the_last_listed_kek_wraps_and_every_listed_one_unwraps() -> None:
    old, new = new_kek_entry("k1"), new_kek_entry("k2")
    subject, key = uuid4(), new_key()
    under_old = parse_keks(old).wrap(subject, key)
    assert under_old.kek_id == "k1"
    assert key not in under_old.data
    rotated = parse_keks(f"{old}\n# rotated in December\n{new}\n")
    assert rotated.current == "k2"
    assert rotated.unwrap(subject, under_old) == key
    assert rotated.wrap(subject, key).kek_id == "k2"
    assert parse_keks(f"{old}, {new}", current="k1").current == "k1"


def test_a_kek_that_is_gone_or_wrong_is_an_error_not_a_pseudonym() -> None:
    subject, key = uuid4(), new_key()
    wrapped = parse_keks(new_kek_entry("k1")).wrap(subject, key)
    with pytest.raises(KekError, match="'k1', which is not configured"):
        parse_keks(new_kek_entry("k2")).unwrap(subject, wrapped)
    with pytest.raises(KekError, match="does not unwrap"):
        parse_keks(new_kek_entry("k1")).unwrap(subject, wrapped)  # same id, another key


def test_a_wrapped_key_opens_only_as_its_own_subjects() -> None:
    keks = parse_keks(new_kek_entry("k1"))
    wrapped = keks.wrap(uuid4(), new_key())
    with pytest.raises(KekError, match="moved from another subject"):
        keks.unwrap(uuid4(), wrapped)
    relabelled = WrappedKey(wrapped.data, DEV_KEK_ID)
    with pytest.raises(KekError):
        keks.unwrap(uuid4(), relabelled)


def test_a_key_stored_before_wrapping_reads_as_it_is() -> None:
    key = new_key()
    assert parse_keks(new_kek_entry("k1")).unwrap(uuid4(), WrappedKey(key, None)) == key


@pytest.mark.parametrize(("text", "error"), [
    ("", "no KEK"),
    ("k1", "not `id:base64-key`"),
    ("bad id:" + base64.b64encode(os.urandom(32)).decode(), "not `id:base64-key`"),
    ("k1:not*base64", "not valid base64"),
    ("k1:" + base64.b64encode(os.urandom(16)).decode(), "16 bytes"),
    (new_kek_entry("k1") + "," + new_kek_entry("k1"), "listed twice"),
], ids=["empty", "no-key", "bad-id", "not-base64", "short", "duplicate"])
def test_unusable_kek_settings_are_refused_without_echoing_them(text: str, error: str) -> None:
    with pytest.raises(KekError, match=error) as raised:
        parse_keks(text)
    secret = text.partition(":")[2]
    assert not secret or secret not in str(raised.value)


def test_the_current_kek_must_be_configured() -> None:
    with pytest.raises(KekError, match="'k9' is not among"):
        parse_keks(new_kek_entry("k1"), current="k9")


def test_keks_come_from_the_file_or_the_variable_not_both(tmp_path: Path) -> None:
    line = new_kek_entry("file-kek")
    path = tmp_path / "kek"
    path.write_text(line + "\n")
    assert configured_keks({"PERSON_KEY_KEK_FILE": str(path)}).current == "file-kek"
    assert configured_keks({"PERSON_KEY_KEK": line}).current == "file-kek"
    with pytest.raises(KekError, match="not both"):
        configured_keks({"PERSON_KEY_KEK_FILE": str(path), "PERSON_KEY_KEK": line})
    with pytest.raises(KekError, match="cannot read"):
        configured_keks({"PERSON_KEY_KEK_FILE": str(tmp_path / "missing")})


def test_without_a_kek_the_development_one_is_used_with_a_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    load_keks.cache_clear()  # the warning comes once per setting
    with caplog.at_level(logging.WARNING):
        keks = configured_keks({"UNRELATED": "1"})
    assert keks.current == DEV_KEK_ID
    assert "DEVELOPMENT KEK, which protects nothing" in caplog.text
    subject, key = uuid4(), new_key()
    # What the development KEK wrapped stays readable once a real KEK is configured, so
    # `access-keys rotate` can move a development database onto it.
    assert parse_keks(new_kek_entry("k1")).unwrap(subject, keks.wrap(subject, key)) == key
