"""Kafka entry points of the access service: command intake, results, relay of events."""
