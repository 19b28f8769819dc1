"""The event store: eventsourcing on PostgreSQL, plus command results in the same commit."""
