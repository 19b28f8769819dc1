"""The read side's projection: the event log folded into query-ready tables.

`create_schema` makes the tables, `apply` applies a batch exactly once, and
`ProjectionRunner` follows the log and tells readers how far it has got, and `rebuild`
replays the whole log into fresh tables and swaps them in.
"""

from services.access.projection.apply import apply, read_position
from services.access.projection.rebuild import rebuild
from services.access.projection.runner import LogReader, ProjectionRunner
from services.access.projection.schema import create_schema
from services.access.projection.sql import DEFAULT_SCHEMA

__all__ = [
    "DEFAULT_SCHEMA",
    "LogReader",
    "ProjectionRunner",
    "apply",
    "create_schema",
    "read_position",
    "rebuild",
]
