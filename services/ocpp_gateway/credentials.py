"""Chargers' passwords for OCPP's security profiles 1 and 2 (HTTP Basic authentication at
the WebSocket handshake: the user name is the charger's serial number, the password its
`AuthorizationKey` in OCPP 1.6, its `BasicAuthPassword` in 2.0.1).

A charger's password is derived from `OCPP_AUTH_SECRET` and its serial number (HMAC-SHA256,
the first 20 bytes as 40 hex digits, which both versions' password rules accept), not
stored: the gateway keeps no state the log cannot rebuild, every instance agrees without
sharing anything, and `ocpp-gateway password SERIAL` prints what to provision on the
charger. Secrets it replaced (`OCPP_AUTH_SECRET_PREVIOUS`) still let their chargers in,
so a rotation does not lock out the chargers not yet given their new password; such a
login is counted apart, to see when the last one has moved.

The 40 hex digits are what a charger is given. OCPP 1.6's security whitepaper has a
charger send the 20 bytes they represent as its password, while many 1.6 chargers and all
2.0.1 ones send the digits as text; both are the same secret, so both are accepted.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Sequence
from enum import Enum

PASSWORD_BYTES = 20
"""40 hex digits: within OCPP 1.6's AuthorizationKey (16 to 20 bytes) and 2.0.1's
BasicAuthPassword (16 to 40 characters)."""
_CONTEXT = b"charger-access/ocpp-basic-auth/v1\x00"


class Login(Enum):
    ACCEPTED = "accepted"
    ACCEPTED_PREVIOUS = "accepted_previous"
    """With a password derived from a secret `OCPP_AUTH_SECRET` replaced."""
    MISSING = "missing"
    WRONG = "wrong"


def password(secret: bytes, serial_number: str) -> str:
    digest = hmac.new(secret, _CONTEXT + serial_number.encode(), hashlib.sha256).digest()
    return digest[:PASSWORD_BYTES].hex()


class ChargerPasswords:
    def __init__(self, secret: bytes, previous: Sequence[bytes] = ()) -> None:
        self._secret = secret
        self._previous = tuple(previous)

    def password(self, serial_number: str) -> str:
        return password(self._secret, serial_number)

    def login(self, serial_number: str, authorization: str | None) -> Login:
        """How the `Authorization` header of a handshake to `/ocpp/{serial_number}` fares.

        The user name must be the serial number of the path: a charger's password opens
        its own connection and no other."""
        given = _basic(authorization)
        if given is None:
            return Login.MISSING
        user, secret_word = given
        # Every comparison runs, whichever matches, so the time says nothing.
        user_ok = hmac.compare_digest(user, serial_number.encode())
        current = _matches(secret_word, self.password(serial_number))
        previous = False
        for old in self._previous:
            previous |= _matches(secret_word, password(old, serial_number))
        if user_ok and current:
            return Login.ACCEPTED
        if user_ok and previous:
            return Login.ACCEPTED_PREVIOUS
        return Login.WRONG


def _matches(given: bytes, hex_password: str) -> bool:
    """The password as its hex digits (text) or as the bytes they stand for (1.6's
    whitepaper); both compared, so the time says nothing of which."""
    as_text = hmac.compare_digest(given, hex_password.encode())
    as_octets = hmac.compare_digest(given, bytes.fromhex(hex_password))
    return as_text | as_octets


def _basic(authorization: str | None) -> tuple[bytes, bytes] | None:
    """(user, password) of an `Authorization: Basic …` header, as bytes (a 1.6 charger's
    password may be any octets); None when there is none. A header that is not Basic, or
    not base64 of `user:password`, reads as wrong."""
    if authorization is None:
        return None
    scheme, _, encoded = authorization.strip().partition(" ")
    if scheme.lower() != "basic":
        return (b"", b"")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True)
    except binascii.Error:
        return (b"", b"")
    user, colon, secret_word = decoded.partition(b":")
    return (user, secret_word) if colon else (b"", b"")
