"""Bearer tokens (`API_TOKENS`): the query API's, and every service's `/metrics`.

The notification service's and the OCPP gateway's `/metrics` are plain HTTP of their own
(no web framework), so they read the `Authorization` header here; the query API reads it
through FastAPI (`services/access/api/auth.py`) and compares it here too.
"""

from __future__ import annotations

import hmac
from collections.abc import Iterable

from pydantic import SecretStr

UNAUTHORIZED_HEADERS = (("WWW-Authenticate", 'Bearer realm="metrics"'),)


def token_is_known(token: str, known: Iterable[SecretStr]) -> bool:
    """Constant-time comparison against every known token (no early exit on a match)."""
    matched = False
    for candidate in known:
        matched |= hmac.compare_digest(token.encode(), candidate.get_secret_value().encode())
    return matched


def bearer_allows(authorization: str | None, known: Iterable[SecretStr]) -> bool:
    """Whether an `Authorization` header value is `Bearer <one of known>` (the scheme in
    any case, as HTTP has it)."""
    scheme, _, token = (authorization or "").strip().partition(" ")
    return scheme.lower() == "bearer" and bool(token.strip()) and token_is_known(
        token.strip(), known)
