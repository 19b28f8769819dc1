"""Invitation tokens: a keyed HMAC of the invitation id and a per-send salt.

The store and the events topic hold only the salt; without `TOKEN_SECRET` the token
cannot be derived from them. Resending an invitation draws a new salt, so the old
token stops working.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from uuid import UUID


def new_salt() -> str:
    """128 bits of fresh randomness per send."""
    return secrets.token_hex(16)


def invitation_token(secret: bytes, invitation_id: UUID, salt: str) -> str:
    digest = hmac.new(secret, f"{invitation_id}:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_matches(secret: bytes, invitation_id: UUID, salt: str, token: str) -> bool:
    """Constant-time comparison, so response timing says nothing about the token."""
    expected = invitation_token(secret, invitation_id, salt)
    return hmac.compare_digest(expected.encode(), token.encode())
