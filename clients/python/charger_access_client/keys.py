"""Charge keys: what a charger is shown (SPEC "Phase 2 → Charge keys").

An id token is what OCPP calls `idTag` (1.6, at most 20 characters) or `idToken` (2.0.1);
the narrower 1.6 limit and a plain character set keep one token valid in both protocols
and in every local list. Tokens are compared case-insensitively, so the contract stores
and answers them in upper case.
"""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import AfterValidator, Field, StringConstraints

from charger_access_client.text import reject_header_hazards

MAX_ID_TOKEN = 20
MAX_LABEL = 100

KeyType = Literal["ISO14443", "ISO15693", "KeyCode", "MacAddress", "eMAID", "Local"]
"""OCPP 2.0.1 `IdTokenEnumType` values that name a physical or virtual key."""

KEY_TYPES: tuple[str, ...] = get_args(KeyType)


def normalise_id_token(value: str) -> str:
    """The one spelling of a token: upper case, as it is stored, claimed and answered."""
    return value.upper()


IdToken = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_ID_TOKEN, pattern=r"^[A-Za-z0-9:._*-]+$"),
    AfterValidator(normalise_id_token),
    Field(description="1 to 20 of `A-Z a-z 0-9 : . _ * -`; compared case-insensitively, "
          "stored and answered in upper case.", examples=["04A2B3C4D5E6F7"]),
]
ChargeKeyLabel = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_LABEL, strip_whitespace=True),
    AfterValidator(reject_header_hazards),
    Field(description="The owner's name for the key (≤ 100, header-safe)."),
]
