"""Contract classes by their wire name, read off the class tree.

A command's or event's `type` on the wire is its class name, so the table of known types
is derived from the classes themselves: adding a class is the whole change, and no list
of names can fall behind it.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def by_wire_name(base: type[T]) -> dict[str, type[T]]:
    """Every subclass of `base`, at any depth, by class name, in the order defined."""
    found: dict[str, type[T]] = {}
    for cls in base.__subclasses__():
        found[cls.__name__] = cls
        found.update(by_wire_name(cls))
    return found
