"""Bearer-token authentication for every endpoint but the health checks.

Query tokens (`API_TOKENS`) open the query API; only auditor tokens (`AUDIT_TOKENS`) open
`/v1/audit/...`, where a query token is known but not enough (403, not 401).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.access.api.context import read_context
from services.access.api.errors import ForbiddenError, UnauthorizedError
from services.common.bearer import token_is_known

# Two schemes under two names: with one name, OpenAPI would say every endpoint takes both.
_bearer = HTTPBearer(
    auto_error=False, scheme_name="QueryToken",
    description="One of the tokens in `API_TOKENS`.")
_auditor_bearer = HTTPBearer(
    auto_error=False, scheme_name="AuditToken",
    description="One of the tokens in `AUDIT_TOKENS`; a query token gets 403 here.")


async def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    if not token_is_known(credentials.credentials, read_context(request).settings.api_tokens):
        raise UnauthorizedError("unknown bearer token")


async def require_auditor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_auditor_bearer)],
) -> None:
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    settings = read_context(request).settings
    if token_is_known(credentials.credentials, settings.audit_tokens):
        return
    if token_is_known(credentials.credentials, settings.api_tokens):
        raise ForbiddenError("the audit endpoints need an auditor token (AUDIT_TOKENS)")
    raise UnauthorizedError("unknown bearer token")
