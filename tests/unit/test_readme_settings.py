"""README's configuration table lists exactly the variables the settings classes read,
derived from the classes (a new field without a row, or a stale row, fails)."""

from __future__ import annotations

import re
from pathlib import Path

from services.access.config import AccessSettings
from services.common.env_settings import env_names
from services.notifications.config import NotificationSettings
from services.ocpp_gateway.config import GatewaySettings

README = Path(__file__).resolve().parents[2] / "README.md"
SERVICE_SETTINGS = (AccessSettings, NotificationSettings, GatewaySettings)


def table_variables() -> list[str]:
    text = README.read_text()
    table = text[text.index("## Configuration"):]
    table = table[:table.index("\n## ")]
    # The variables read before any settings class (logging, tracing, fault points) have a
    # table of their own after this one.
    table = table.split("\nRead by every service straight from the environment")[0]
    return re.findall(r"^\| `([A-Z0-9_]+)` \|", table, flags=re.MULTILINE)


def test_the_readme_table_lists_every_setting_once_and_nothing_else() -> None:
    rows = table_variables()
    assert len(rows) == len(set(rows)), "a variable has two rows"
    read = {name for cls in SERVICE_SETTINGS for name in env_names(cls)}
    assert set(rows) == read
