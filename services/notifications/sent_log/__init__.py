"""The sent-log in PostgreSQL: one row per (event, recipient) that is both the dedupe
record and the queue of e-mails still to send, its hand-over marks, its part in
forgetting a person, and its schema."""
