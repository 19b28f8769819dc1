"""`/v1/audit/...`: the auditors' questions over HTTP, answered from the stored log (through
the projection's indexes where they hold it: `audit/service.py`).

Only auditor tokens (`AUDIT_TOKENS`) open these: a query-API token is known but not
enough (403 `forbidden`); no token or an unknown one is 401.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, cast
from uuid import UUID

from fastapi import APIRouter, Depends, Query, Request

from services.access.api.auth import require_auditor
from services.access.api.context import read_context
from services.access.api.errors import WWW_AUTHENTICATE_HEADER, NotFoundError, invalid_param
from services.access.api.models import AccessAtAnswer, AuditTimeline, ErrorBody, VerifyAnswer
from services.access.api.pagination import DEFAULT_LIMIT, Cursor, Limit, int_after
from services.access.api.repositories.audit import AuditRepository
from services.access.audit.timeline import Kind, Subject


def audit_repository(request: Request) -> AuditRepository:
    return read_context(request).audit


Audit = Annotated[AuditRepository, Depends(audit_repository)]

router = APIRouter(
    prefix="/v1/audit",
    tags=["audit"],
    dependencies=[Depends(require_auditor)],
    responses={
        401: {"model": ErrorBody, "description": "No or unknown bearer token.",
              "headers": WWW_AUTHENTICATE_HEADER},
        403: {"model": ErrorBody, "description": "A query-API token, not an auditor's."},
        404: {"model": ErrorBody, "description": "Nothing about that id (at that time)."},
        422: {"model": ErrorBody, "description": "Malformed parameters (`error`: `invalid`)."},
    },
)

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
    """Effective access at `at`, with the why, as the log up to then made it: read from the
    projection's access history (equal to a replay of the log, property-tested), or
    replayed when its indexes do not cover `at` yet."""
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
