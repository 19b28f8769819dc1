"""Bearer-token authentication for every endpoint but the health checks."""

from __future__ import annotations

import hmac
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.access.api.context import read_context
from services.access.api.errors import UnauthorizedError

_bearer = HTTPBearer(auto_error=False, description="One of the tokens in `API_TOKENS`.")


def token_is_known(token: str, known: frozenset[str]) -> bool:
    """Constant-time comparison against every known token (no early exit on a match)."""
    matched = False
    for candidate in known:
        matched |= hmac.compare_digest(token.encode(), candidate.encode())
    return matched


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    if not token_is_known(credentials.credentials, read_context(request).settings.api_tokens):
        raise UnauthorizedError("unknown bearer token")
