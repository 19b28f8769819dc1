"""Copying an aggregate: a unit of work changes copies, never what it loaded (the store
may keep that for the next batch, `store/cache.py`)."""

from __future__ import annotations

import copy
from datetime import date, datetime, timedelta
from typing import Any, TypeVar
from uuid import UUID

from services.access.domain.base import AccessAggregate

A = TypeVar("A", bound=AccessAggregate)

_IMMUTABLE: frozenset[type] = frozenset(
    {str, int, float, bool, bytes, type(None), UUID, datetime, date, timedelta})


def copy_aggregate(aggregate: A) -> A:
    """A deep copy of an aggregate, as `copy.deepcopy` makes it, several times faster.

    Aggregates here are plain objects whose state is dicts, lists and sets of immutable
    values (strings, UUIDs, datetimes...): those values are shared, the containers copied.
    Anything else in them is copied with `copy.deepcopy`.
    """
    copied = object.__new__(type(aggregate))
    copied.__dict__.update(_clone(vars(aggregate)))
    return copied


def _clone(value: Any) -> Any:
    kind = type(value)
    if kind in _IMMUTABLE:
        return value
    if kind is dict:
        return {key: _clone(item) for key, item in value.items()}
    if kind is list:
        return [_clone(item) for item in value]
    if kind is set:
        return {_clone(item) for item in value}
    return copy.deepcopy(value)
