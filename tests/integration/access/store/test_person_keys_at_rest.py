"""Person keys at rest: a `pg_dump` of a store the real write side filled holds no
personal data, in any encoding we can look for, and no key that opens it without the
key-encryption key (KEK), which is not in the dump either; with the KEK, the same dump
opens (so the scan looks at the real thing). The read models are plaintext by design and
rebuildable: a dump without their schema, as README's backup command takes it, is as
clean."""

from __future__ import annotations

import base64
import binascii
import re
import subprocess
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from services.access.executor import Executor
from services.access.handlers.context import Rules
from services.access.projection.sql import DEFAULT_SCHEMA
from services.access.rebuild_cli import run_rebuild
from services.access.store.application import open_store
from services.access.store.personal.wrapping import (
    DEV_KEK,
    KekError,
    WrappedKey,
    new_kek_entry,
    parse_keks,
)
from services.local.postgres import server_bindir
from tests.unit.access.scenario import SECRET, Scenario

pytestmark = pytest.mark.integration

PERSONAL = {
    "email": "ingrid.solberg-haug@example.no", "name": "Ingrid Solberg-Haug",
    "phone": "+4791234567", "invited": "bjorn.fjellvang@example.org",
    "id_token": "QZ7K:MAPLE.41", "label": "Ingrids brikke",
}
SEALED = re.compile(rb"pii:v1:([0-9a-f]{32}):([A-Za-z0-9+/=]+)")
HEX_RUN = re.compile(r"\\x((?:[0-9a-f]{2})+)")


def write_personal_data(url: str) -> None:
    """Through the store and the command executor, as the access service writes."""
    s = Scenario()
    s.store = open_store(url)
    s.executor = Executor(s.store, Rules(SECRET), clock=lambda: s.now)
    owner = s.user(name="Owner Person")
    ingrid = s.user(email=PERSONAL["email"], name=PERSONAL["name"], phone=PERSONAL["phone"])
    charger = s.charger(owner)
    s.invite(owner, PERSONAL["invited"], [charger])
    s.invite(owner, PERSONAL["email"], [charger])
    s.ok("AddChargeKey", ingrid, key_id=UUID(int=7), user_id=ingrid,
         id_token=PERSONAL["id_token"].lower(), label=PERSONAL["label"])
    s.store.close()


def pg_dump(url: str, *args: str) -> str:
    return subprocess.run([str(server_bindir() / "pg_dump"), "--no-owner", *args, url],
                          capture_output=True, text=True, check=True, timeout=60).stdout


def decoded(dump: str) -> bytes:
    """Every bytea value in the dump (COPY writes them as hex), decoded."""
    return b"\n".join(binascii.unhexlify(m) for m in HEX_RUN.findall(dump))


def base64_forms(value: bytes) -> Iterator[str]:
    """The base64 characters that `value` alone determines, at each of the three
    alignments it can have inside a longer encoded text; standard and URL-safe."""
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + value).decode()
        core = encoded[-(-4 * offset // 3):(4 * (offset + len(value))) // 3]
        yield core
        yield core.replace("+", "-").replace("/", "_")


def traces(dump: str, value: bytes) -> list[str]:
    """The encodings of `value` found in the dump: plain (any case), hex, base64."""
    text, raw = dump.lower(), decoded(dump)
    cases = {value, value.lower(), value.upper()}
    found = []
    if any(value.lower() in corpus.lower() for corpus in (dump.encode(), raw)):
        found.append("plain")
    if any(v.hex() in text for v in cases):
        found.append("hex")
    if any(f in dump or f.encode() in raw for v in cases for f in base64_forms(v)):
        found.append("base64")
    return found


def copied_rows(dump: str, table: str) -> list[dict[str, str]]:
    """The rows of `table`'s COPY block in a plain-format dump."""
    header = re.search(rf"^COPY public\.{table} \((.*)\) FROM stdin;$", dump, re.M)
    assert header, f"no COPY block for {table}"
    columns = header[1].split(", ")
    body = dump[header.end() + 1:dump.index("\n\\.\n", header.end())]
    return [dict(zip(columns, line.split("\t"), strict=True)) for line in body.splitlines()]


@pytest.fixture(scope="module")
def kek_entry() -> str:
    return new_kek_entry("k-dump")


@pytest.fixture(scope="module")
def dumped_store(new_database: Any, kek_entry: str) -> Iterator[str]:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("PERSON_KEY_KEK", kek_entry)
        env.delenv("PERSON_KEY_KEK_FILE", raising=False)
        url: str = new_database()
        write_personal_data(url)
        yield url


def test_a_dump_of_the_store_holds_no_personal_data(dumped_store: str) -> None:
    dump = pg_dump(dumped_store)
    assert "COPY public.chargeraccess_events" in dump
    found = {name: t for name, value in PERSONAL.items()
             if (t := traces(dump, value.encode()))}
    assert found == {}
    assert traces(dump, b"Owner Person") == []


def test_the_dumps_keys_open_nothing_without_the_kek_and_the_kek_is_not_in_it(
    dumped_store: str, kek_entry: str,
) -> None:
    dump = pg_dump(dumped_store)
    kek_id, _, kek_b64 = kek_entry.partition(":")
    kek = base64.b64decode(kek_b64)
    assert traces(dump, kek) == []
    assert kek_b64 not in dump
    rows = copied_rows(dump, "person_keys")
    assert rows
    assert {row["kek"] for row in rows} == {kek_id}
    stored = {UUID(r["subject"]): binascii.unhexlify(r["key"].removeprefix("\\\\x")) for r in rows}
    sealed = [(UUID(hex=m[0].decode()), base64.b64decode(m[1]))
              for m in SEALED.findall(decoded(dump))]
    assert len(sealed) >= len(PERSONAL)

    opened_with_kek: set[str] = set()
    keks = parse_keks(kek_entry)
    for subject, data in sealed:
        wrapped = stored[subject]
        # Without the KEK: neither the stored bytes (in any 32-byte window) nor what the
        # public development KEK makes of them opens the value.
        for start in range(len(wrapped) - 31):
            assert _opens(wrapped[start:start + 32], subject, data) is None
        with pytest.raises(InvalidTag):
            AESGCM(DEV_KEK).decrypt(wrapped[:12], wrapped[12:], subject.bytes + b"dev")
        with pytest.raises(KekError):
            parse_keks(new_kek_entry(kek_id)).unwrap(subject, WrappedKey(wrapped, kek_id))
        # With it, the same dump opens: the scan above looked at the real data.
        plain = _opens(keks.unwrap(subject, WrappedKey(wrapped, kek_id)), subject, data)
        assert plain is not None
        opened_with_kek.add(plain.upper() if plain.upper() == PERSONAL["id_token"] else plain)
    assert {PERSONAL["email"], PERSONAL["name"], PERSONAL["invited"]} <= opened_with_kek
    assert {PERSONAL["id_token"], PERSONAL["label"], PERSONAL["phone"]} <= opened_with_kek


async def test_the_read_models_are_plaintext_and_a_backup_without_them_is_clean(
    dumped_store: str, kek_entry: str, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("PERSON_KEY_KEK", kek_entry)
    await run_rebuild(dumped_store)
    assert "plain" in traces(pg_dump(dumped_store), PERSONAL["email"].encode())
    backup = pg_dump(dumped_store, f"--exclude-schema={DEFAULT_SCHEMA}")
    assert {n: t for n, v in PERSONAL.items() if (t := traces(backup, v.encode()))} == {}


def _opens(key: bytes, subject: UUID, data: bytes) -> str | None:
    try:
        return AESGCM(key).decrypt(data[:12], data[12:], subject.bytes).decode()
    except InvalidTag:
        return None
