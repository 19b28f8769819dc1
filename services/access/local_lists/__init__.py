"""OCPP local authorization lists: what each charger may decide alone while offline.

Per charger, a versioned list of the keys it should admit (or refuse), kept in a read
model of its own so Full and Differential lists are index lookups, never a replay.
"""
