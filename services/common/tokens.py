"""Invitation tokens: a keyed HMAC of the invitation id and a per-send salt.

The store and the events topic hold only the salt; without `TOKEN_SECRET` the token
cannot be derived from them. Resending an invitation draws a new salt, so the old
token stops working. Tokens are issued under the current secret and accepted under it or
any previous one (`TOKEN_SECRET_PREVIOUS`), so rotating the secret breaks no link sent
before: each works until its invitation expires.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Sequence
from uuid import UUID

from services.common.entropy import random_bytes


def new_salt() -> str:
    """128 bits of fresh randomness per send."""
    return random_bytes(16).hex()


def invitation_token(secret: bytes, invitation_id: UUID, salt: str) -> str:
    digest = hmac.new(secret, f"{invitation_id}:{salt}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def token_matches(secrets: Sequence[bytes], invitation_id: UUID, salt: str, token: str) -> bool:
    """Whether `token` was issued under one of `secrets`. Every secret is tried, each in
    constant time, so response timing says nothing about the token or which secret."""
    given = token.encode()
    matches = [hmac.compare_digest(invitation_token(s, invitation_id, salt).encode(), given)
               for s in secrets]
    return any(matches)
