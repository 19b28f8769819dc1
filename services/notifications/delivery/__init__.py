"""Getting e-mails out exactly once: consumed batches claimed in the sent-log, rounds of
sends over the SMTP pool, outcomes recorded, retries and the breaker while the server is
down."""
