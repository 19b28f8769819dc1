"""Each aggregate's events folded into row changes: one module per aggregate, each with
its `FOLDERS` by event type (`changes.fold_logged` joins them)."""
