"""The query API (FastAPI): current access, chargers, groups, invitations, history."""

from services.access.api.app import build_app, create_app
from services.access.api.context import Readiness, ReadPosition

__all__ = ["ReadPosition", "Readiness", "build_app", "create_app"]
