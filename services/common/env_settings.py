"""The base of every settings class (both services, the gateway): values from the
environment through pydantic-settings, and a value that cannot work refused as a
`SettingError` naming its variable, so `run_service` ends the process with one line
(status 2) instead of a pydantic traceback that may quote a secret.

Settings built directly in code (tests) read the environment too, as pydantic-settings
does; `from_env` is the services' door and adds the development-secret check
(`services/common/config.py`).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict, SettingsError

from services.common.errors import SettingError


class EnvSettings(BaseSettings):
    model_config = SettingsConfigDict(
        frozen=True,
        validate_by_name=True,  # code passes field names; the environment uses the aliases
        env_ignore_empty=True,  # `VAR=` (compose's `${VAR:-}`) means "use the default"
        extra="ignore",
    )

    def __init__(self, **values: Any) -> None:
        try:
            super().__init__(**values)
        except ValidationError as error:
            raise setting_error(type(self), error) from None
        except SettingsError as error:  # a structured value that is not JSON
            raise SettingError(str(error)) from None


def setting_error(cls: type[BaseModel], error: ValidationError) -> SettingError:
    """One error for all the values refused: our own (it already names its variable) as
    it was raised, else a `SettingError` naming each variable and never quoting a value."""
    details = error.errors()
    for detail in details:
        own = detail.get("ctx", {}).get("error")
        if isinstance(own, SettingError):
            return own
    return SettingError("; ".join(_describe(cls, detail) for detail in details))


def _describe(cls: type[BaseModel], detail: ErrorDetails) -> str:
    name = str(detail["loc"][0]) if detail["loc"] else ""
    field = cls.model_fields.get(name)
    variable = env_name(cls, name) if field is not None else name.upper()
    return f"{variable}: {detail['msg']}"


def env_name(cls: type[BaseModel], field_name: str) -> str:
    """The environment variable a field is read from."""
    alias = cls.model_fields[field_name].validation_alias
    if isinstance(alias, str):
        return alias
    prefix = str(cls.model_config.get("env_prefix", ""))
    return (prefix + field_name).upper()


def env_names(cls: type[BaseModel]) -> Iterator[str]:
    """Every variable a settings class reads, nested settings included (for the README
    table's test and compose's)."""
    for name, field in cls.model_fields.items():
        kind = field.annotation
        if isinstance(kind, type) and issubclass(kind, BaseSettings):
            yield from env_names(kind)
        else:
            yield env_name(cls, name)
