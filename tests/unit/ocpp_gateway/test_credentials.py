from __future__ import annotations

import base64
import hashlib
import hmac

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.ocpp_gateway.credentials import ChargerPasswords, Login, password

SECRET = b"s" * 32
OLD = b"o" * 32


def basic(user: str, word: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{word}".encode()).decode()


def test_a_password_is_the_documented_derivation_so_provisioned_chargers_stay_valid() -> None:
    # Written out from the module's documentation, not from its code: a change to the
    # derivation would lock out every charger provisioned with the old one.
    expected = hmac.new(SECRET, b"charger-access/ocpp-basic-auth/v1\x00SN-1",
                        hashlib.sha256).hexdigest()[:40]
    assert password(SECRET, "SN-1") == expected
    assert len(expected) == 40


@given(st.text(min_size=1, max_size=40), st.text(min_size=1, max_size=40))
def test_each_charger_and_each_secret_has_a_password_of_its_own(a: str, b: str) -> None:
    if a != b:
        assert password(SECRET, a) != password(SECRET, b)
    assert password(SECRET, a) != password(OLD, a)


def test_logins() -> None:
    passwords = ChargerPasswords(SECRET, [OLD])
    right = password(SECRET, "SN-1")
    assert passwords.login("SN-1", basic("SN-1", right)) is Login.ACCEPTED
    assert passwords.login("SN-1", basic("SN-1", password(OLD, "SN-1"))) is (
        Login.ACCEPTED_PREVIOUS)
    assert passwords.login("SN-1", None) is Login.MISSING
    # Another charger's name and password open only that charger's connection.
    assert passwords.login("SN-1", basic("SN-2", password(SECRET, "SN-2"))) is Login.WRONG
    assert passwords.login("SN-1", basic("SN-2", right)) is Login.WRONG
    assert passwords.login("SN-1", basic("SN-1", password(SECRET, "SN-2"))) is Login.WRONG
    assert passwords.login("SN-1", basic("SN-1", right.upper())) is Login.WRONG
    assert passwords.login("SN-1", basic("SN-1", "")) is Login.WRONG


@pytest.mark.parametrize("header", [
    "Bearer abc", "Basic", "Basic !!!", "Basic " + base64.b64encode(b"no-colon").decode(),
    "Basic " + base64.b64encode(b"\xff\xfe:x").decode(), "",
])
def test_a_header_that_is_not_basic_user_and_password_is_wrong(header: str) -> None:
    assert ChargerPasswords(SECRET).login("SN-1", header) is Login.WRONG


def test_a_password_with_a_colon_and_a_basic_scheme_in_any_case() -> None:
    passwords = ChargerPasswords(SECRET)
    header = basic("SN-1", password(SECRET, "SN-1")).replace("Basic", "bAsIc")
    assert passwords.login("SN-1", header) is Login.ACCEPTED
    assert passwords.login("SN:1", basic("SN:1", password(SECRET, "SN:1"))) is Login.WRONG


def octets(user: str, word: str) -> str:
    """As OCPP 1.6's security whitepaper has a charger send its AuthorizationKey: the bytes
    its hex digits stand for."""
    return "Basic " + base64.b64encode(user.encode() + b":" + bytes.fromhex(word)).decode()


def test_a_16_charger_may_send_its_key_as_the_bytes_its_digits_stand_for() -> None:
    passwords = ChargerPasswords(SECRET, [OLD])
    assert passwords.login("SN-1", octets("SN-1", password(SECRET, "SN-1"))) is Login.ACCEPTED
    assert passwords.login("SN-1", octets("SN-1", password(OLD, "SN-1"))) is (
        Login.ACCEPTED_PREVIOUS)
    assert passwords.login("SN-1", octets("SN-1", password(SECRET, "SN-2"))) is Login.WRONG
    assert passwords.login("SN-1", octets("SN-2", password(SECRET, "SN-2"))) is Login.WRONG
    # Neither half of the digits, nor the bytes of a prefix, is the password.
    right = password(SECRET, "SN-1")
    assert passwords.login("SN-1", basic("SN-1", right[:20])) is Login.WRONG
    assert passwords.login("SN-1", octets("SN-1", right[:38])) is Login.WRONG


def test_the_whitepapers_own_example_header_reads_as_its_key() -> None:
    # A vendor's manual quotes it: identity AL1000 with the AuthorizationKey below gives
    # this header (the key's 20 bytes after the colon, not its 40 digits).
    from services.ocpp_gateway.credentials import _basic, _matches

    key = "0001020304050607FFFFFFFFFFFFFFFFFFFFFFFF"
    user, word = _basic("Basic QUwxMDAwOgABAgMEBQYH////////////////") or (b"", b"")
    assert user == b"AL1000"
    assert _matches(word, key.lower())
