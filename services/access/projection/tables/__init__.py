"""Writing a folded batch into the read-model tables, one module per table (or table pair).

Each writer takes the batch's net changes for its tables and applies them with a few
set-based statements that take whole columns as arrays; the caller holds the transaction.
"""
