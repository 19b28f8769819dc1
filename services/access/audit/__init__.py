"""Auditors' tools over the event store: timeline, access at a moment, export, verify.

Everything here reads the stored log (never the read models, except to compare a
rebuild with them), so an auditor can trust it as far as they trust the log, and
`verify` tells them how far that is.
"""
