"""Errors that stop a service at start for a reason an operator fixes, not a bug: the
process says so in one line, naming the setting, instead of a traceback."""

from __future__ import annotations


class SettingError(ValueError):
    """A setting that cannot work; the message names the variable, never a secret."""


class UnreachableError(ConnectionError):
    """A server the settings name cannot be reached or logged in to."""
