"""`GET /v1/access/check` answered without FastAPI's routing, dependencies and models.

The check is the hot read: a charger asks it whenever someone plugs in. Through FastAPI
most of a check's time went to routing, solving the dependencies (token, context,
position) and validating and dumping the response model, not to the lookup. This ASGI
middleware answers the everyday request itself: a known bearer token, both ids as plain
UUIDs, a known `level`, no `min_position` the read model has yet to reach, no `at`.
Everything else — a missing or unknown token, a malformed parameter, a wait, a moment
asked for, any unusual spelling — goes to the app unchanged, so the app stays the one
reference for every error and edge case, and a test compares the two answers byte for byte.

A row with a time-bound share is answered here too, for now: its reasons are evaluated
with the same code as the app's (`moment.py`, schedules parsed once each); every other
row is the stored answer as it is, as before.
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from typing import Any

from pydantic_core import from_json, to_json
from starlette.types import ASGIApp, Receive, Scope, Send

from services.access.api.context import ReadContext
from services.access.api.moment import at_moment
from services.access.domain.access import LEVELS
from services.access.latency import CHECK_SECONDS
from services.common.bearer import token_is_known

PATH = "/v1/access/check"

_UUID = re.compile(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\Z")
_DIGITS = re.compile(rb"[0-9]{1,15}\Z")
_LEVELS = {level.encode(): level for level in LEVELS}
_BEARER = b"Bearer "
_TOKEN = re.compile(rb"[!-~]+\Z")  # printable ASCII, no spaces: compared as the app would


class AccessCheckFastPath:
    """ASGI middleware: the plain access check answered here, anything else by `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"] == PATH and scope["method"] == "GET":
            started = time.perf_counter()
            context = scope["app"].state.read
            query = _plain_query(scope, context)
            if query is not None:
                await _answer(context, query, send)
            else:  # a moment, an escape, a refusal: the app answers, timed all the same
                await self.app(scope, receive, send)
            CHECK_SECONDS.observe(time.perf_counter() - started)
            return
        await self.app(scope, receive, send)


def _plain_query(scope: Scope, context: ReadContext) -> tuple[str, str, str] | None:
    """(user_id, charger_id, level) of an everyday authorised check; None for the app."""
    params = _params(scope["query_string"]) if _authorised(scope, context) else None
    if params is None or b"at" in params:  # a moment asked for: the app parses it
        return None
    user, charger = params.get(b"user_id", b""), params.get(b"charger_id", b"")
    level = _LEVELS.get(params.get(b"level", b"charge"))
    if not (_UUID.match(user) and _UUID.match(charger)) or level is None:
        return None
    if b"min_position" in params and not _reached(params[b"min_position"], context):
        return None
    return user.decode(), charger.decode(), level


def _params(query: bytes) -> dict[bytes, bytes] | None:
    """The parameters as sent; None for escapes (the app decodes them) or a repeated name."""
    if b"%" in query or b"+" in query:
        return None
    params: dict[bytes, bytes] = {}
    for pair in query.split(b"&"):
        name, _, value = pair.partition(b"=")
        if name in params:
            return None
        params[name] = value
    return params


def _authorised(scope: Scope, context: ReadContext) -> bool:
    for name, value in scope["headers"]:
        if name == b"authorization":  # the first one, as the app reads it
            token = value[len(_BEARER):] if value.startswith(_BEARER) else b""
            return bool(_TOKEN.match(token)) and token_is_known(
                token.decode(), context.settings.api_tokens)
    return False


def _reached(min_position: bytes, context: ReadContext) -> bool:
    return bool(_DIGITS.match(min_position)) and context.projection.position >= int(min_position)


async def _answer(context: ReadContext, query: tuple[str, str, str], send: Send) -> None:
    user, charger, asked = query
    position = context.projection.position  # before the lookup, as the app takes it
    level, why_text, timebound = await context.access.effective_json(user, charger)
    why, upcoming = from_json(why_text), None
    if timebound:
        moment = at_moment(why, datetime.now(UTC))
        level, why, upcoming = moment.level, moment.why, moment.upcoming
    allowed = level is not None and LEVELS[level] >= LEVELS[asked]
    body: dict[str, Any] = {"allowed": allowed, "level": level, "why": why,
                            "upcoming": upcoming, "position": position}
    content = to_json(body)
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-length", str(len(content)).encode()),
        (b"content-type", b"application/json"),
    ]})
    await send({"type": "http.response.body", "body": content})
