"""The public contract of charger-access: envelopes, commands, events and topic names.

Both services and outside clients import this package; it depends on pydantic only.
"""
