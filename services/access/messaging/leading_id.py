"""The top-level `id` of a JSON object, read from the head of a message too big to parse.

An oversize structured-binding command still deserves its `invalid` result when its id can
be had cheaply: senders put `id` before `data`, so it sits in the first bytes. Only the
head (`HEAD_BYTES`) is read, member by member with the JSON decoder, so a nested `"id"`
(inside `data`, or inside a string) is never mistaken for the envelope's: a member that
does not end within the head stops the search.
"""

from __future__ import annotations

import json

HEAD_BYTES = 64 * 1024
_DECODER = json.JSONDecoder()
_WHITESPACE = " \t\n\r"


def leading_id(value: bytes, head_bytes: int = HEAD_BYTES) -> str | None:
    """The string value of the object's top-level `id` if it ends within the head."""
    # A multi-byte character cut at the end of the head is dropped, not misread.
    text = value[:head_bytes].decode("utf-8", errors="ignore")
    at = _skip(text, 0)
    if not text.startswith("{", at):
        return None
    at += 1
    try:
        while True:
            at = _skip(text, at)
            key, at = _DECODER.raw_decode(text, at)
            at = _skip(text, at)
            if not isinstance(key, str) or not text.startswith(":", at):
                return None
            member, at = _DECODER.raw_decode(text, _skip(text, at + 1))
            if key == "id":
                return member if isinstance(member, str) else None
            at = _skip(text, at)
            if not text.startswith(",", at):
                return None
            at += 1
    except ValueError:  # not JSON, or a member running past the head
        return None


def _skip(text: str, at: int) -> int:
    while at < len(text) and text[at] in _WHITESPACE:
        at += 1
    return at
