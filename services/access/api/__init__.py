"""The query API (FastAPI): current access, chargers, groups, invitations, history.

The app is imported on first use, not with the package: the OCPP gateway uses the
package's pure parts (`authorize`, `repositories`) and starts ~2 s faster without FastAPI.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from services.access.api.app import build_app, create_app
    from services.access.api.context import Readiness, ReadPosition

__all__ = ["ReadPosition", "Readiness", "build_app", "create_app"]
_HOMES = {"build_app": "app", "create_app": "app", "Readiness": "context",
          "ReadPosition": "context"}


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(name)
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
