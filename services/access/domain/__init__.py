"""The write model: event-sourced aggregates and the rules they enforce.

Stored event identity is module path + class name: moving or renaming a class here is a
data migration. The public wire contract lives in `charger_access_client`
(clients/python), not here.
"""
