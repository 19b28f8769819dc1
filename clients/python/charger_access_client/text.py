"""Text types shared by every contract model.

Anything a client sends may end up in an e-mail header (a name in a subject, an address
in `To:`), so the rules live here, once, rather than in the mailer: no control
characters, no line breaks, no RFC 2047 encoded-word markers (`=?`), bounded sizes.
"""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated, Literal

from pydantic import AfterValidator, Field, StringConstraints

MAX_EMAIL = 254
MAX_NAME = 200

_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]+$")
_PHONE = re.compile(r"^\+[1-9][0-9]{1,14}$")


def reject_header_hazards(value: str) -> str:
    """Refuse text that could forge or split a mail header when it is rendered."""
    if "=?" in value:
        raise ValueError("must not contain the encoded-word marker '=?'")
    for char in value:
        category = unicodedata.category(char)
        if category in ("Cc", "Cf", "Zl", "Zp"):
            raise ValueError(f"must not contain control character U+{ord(char):04X}")
    return value


def _check_email(value: str) -> str:
    reject_header_hazards(value)
    if not _EMAIL.match(value):
        raise ValueError("is not an e-mail address")
    return value


def _check_phone(value: str) -> str:
    if not _PHONE.match(value):
        raise ValueError("is not an E.164 phone number (e.g. +4790000000)")
    return value


def normalise_email(value: str) -> str:
    """E-mail addresses are compared case-insensitively everywhere."""
    return value.strip().lower()


HeaderSafeText = Annotated[
    str,
    StringConstraints(min_length=1, max_length=MAX_NAME, strip_whitespace=True),
    AfterValidator(reject_header_hazards),
]
Email = Annotated[
    str,
    StringConstraints(min_length=3, max_length=MAX_EMAIL, strip_whitespace=True),
    AfterValidator(_check_email),
    Field(examples=["kari.nordmann@example.no"]),
]
Phone = Annotated[str, StringConstraints(max_length=16), AfterValidator(_check_phone)]
Locale = Literal["nb", "fr", "en"]
Level = Literal["charge", "manage"]
Role = Literal["owner", "admin", "member"]
