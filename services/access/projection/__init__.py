"""The read side's projection: the event log folded into query-ready tables.

`schema.create_schema` makes the tables, `apply.apply` applies a batch exactly once,
`runner.ProjectionRunner` follows the log and tells readers how far it has got, and
`rebuild.rebuild` replays the whole log into fresh tables and swaps them in. The fold
itself (`changes`, into `rows`) is pure: nothing is imported here, so importing it pulls
in no database driver.
"""
