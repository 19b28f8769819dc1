"""`/v1/audit/...`: the auditors' questions over HTTP, answered from the stored log.

Only auditor tokens (`AUDIT_TOKENS`) open these: a query-API token is known but not
enough (403 `forbidden`); no token or an unknown one is 401.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from services.access.api.auth import token_is_known
from services.access.api.context import read_context
from services.access.api.errors import ApiError, NotFoundError, UnauthorizedError, invalid_param
from services.access.api.models import ErrorBody
from services.access.api.pagination import DEFAULT_LIMIT, Cursor, Limit, int_after
from services.access.api.repositories.audit import AuditRepository
from services.access.audit.timeline import Kind, Subject

_bearer = HTTPBearer(auto_error=False, description="One of the tokens in `AUDIT_TOKENS`.")


class ForbiddenError(ApiError):
    status = 403
    code = "forbidden"


async def require_auditor(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        raise UnauthorizedError("missing bearer token")
    settings = read_context(request).settings
    if token_is_known(credentials.credentials, settings.audit_tokens):
        return
    if token_is_known(credentials.credentials, settings.api_tokens):
        raise ForbiddenError("the audit endpoints need an auditor token (AUDIT_TOKENS)")
    raise UnauthorizedError("unknown bearer token")


def audit_repository(request: Request) -> AuditRepository:
    return AuditRepository(read_context(request).pool)


Audit = Annotated[AuditRepository, Depends(audit_repository)]

router = APIRouter(
    prefix="/v1/audit",
    tags=["audit"],
    dependencies=[Depends(require_auditor)],
    responses={
        401: {"model": ErrorBody, "description": "No or unknown bearer token."},
        403: {"model": ErrorBody, "description": "A query-API token, not an auditor's."},
        404: {"model": ErrorBody, "description": "Nothing about that id (at that time)."},
        422: {"model": ErrorBody, "description": "Malformed parameters (`error`: `invalid`)."},
    },
)

LOG_POSITION = Field(description="The log position the answer reflects (at least).")


class AuditEvent(BaseModel):
    position: int = Field(description="The event's global position in the store.")
    time: datetime
    type: str = Field(examples=["UserInvited"])
    event_id: UUID
    subject: str = Field(description="Id of the aggregate the event is about.")
    actor: str | None
    actor_name: str | None = Field(description="The actor's name (or e-mail) at the time.")
    command_id: str | None
    sentence: str = Field(examples=["Kari invited ola@example.no to Garasje (charge)"])
    data: dict[str, Any] = Field(description="The event's data, as on `access.events`.")


class AuditTimeline(BaseModel):
    events: list[AuditEvent]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page.")
    position: int = LOG_POSITION


class AccessAtAnswer(BaseModel):
    charger_id: UUID | None = None
    user_id: UUID | None = None
    at: datetime
    users: list[dict[str, Any]] | None = Field(
        default=None, description="For a charger: `{user_id, level, why}` per user.")
    chargers: list[dict[str, Any]] | None = Field(
        default=None, description="For a user: `{charger_id, level, why}` per charger.")
    position: int = Field(description="The last log position at or before `at`.")


class VerifyAnswer(BaseModel):
    ok: bool
    count: int = Field(description="Events whose chain links matched.")
    last_position: int
    last_hash: str = Field(description="Hex SHA-256 of the last matching link.")
    broken_at: int | None = Field(description="The first position that does not match.")
    problem: str | None


IdParam = Annotated[UUID | None, Query()]


def _one(**ids: UUID | None) -> Subject:
    given = [(kind, value) for kind, value in ids.items() if value is not None]
    if len(given) != 1:
        names = ", ".join(f"{kind}_id" for kind in ids)
        raise invalid_param(next(iter(ids)) + "_id", f"give exactly one of {names}")
    kind, value = given[0]
    return Subject(cast(Kind, kind), str(value))  # the keyword names are the kinds


@router.get("/timeline", response_model=AuditTimeline)
async def timeline(
    audit: Audit,
    charger_id: IdParam = None,
    user_id: IdParam = None,
    group_id: IdParam = None,
    invitation_id: IdParam = None,
    limit: Limit = DEFAULT_LIMIT,
    cursor: Cursor = None,
) -> AuditTimeline:
    """Every event about one charger, user, group or invitation, oldest first, in words."""
    subject = _one(charger=charger_id, user=user_id, group=group_id, invitation=invitation_id)
    head, page = await audit.timeline(subject, int_after(cursor), limit)
    if not page.items and cursor is None:
        raise NotFoundError(f"no events about {subject.kind} {subject.id}", position=head)
    return AuditTimeline.model_validate({"events": [e.as_json() for e in page.items],
                                         "next_cursor": page.next_cursor, "position": head})


@router.get("/access-at", response_model=AccessAtAnswer, response_model_exclude_none=True)
async def access_at(
    audit: Audit,
    at: Annotated[datetime, Query(description="ISO 8601; UTC when it has no offset.")],
    charger_id: IdParam = None,
    user_id: IdParam = None,
) -> AccessAtAnswer:
    """Effective access at `at`, with the why, replayed from the log up to then."""
    subject = _one(charger=charger_id, user=user_id)
    kind: Literal["charger", "user"] = "charger" if subject.kind == "charger" else "user"
    answer = await audit.access_at(kind, subject.id, at)
    if not answer.exists:
        raise NotFoundError(f"the {kind} did not exist at {answer.at.isoformat()}",
                            position=answer.position)
    return AccessAtAnswer.model_validate(answer.as_json())


@router.get("/verify", response_model=VerifyAnswer)
async def verify(audit: Audit) -> VerifyAnswer:
    """Walk the hash chain of the stored log; `broken_at` names the first bad position."""
    return VerifyAnswer.model_validate((await audit.verify()).as_json())
