"""The notification service: `access.events` in, e-mails out, once per (event, recipient).

- `mail/`: which e-mails an event causes, their text per language, the MIME bytes (pure);
- `delivery/`: claiming, sending in rounds, recording outcomes, retries and the breaker;
- `sent_log/`: the PostgreSQL table that is both the dedupe record and the queue;
- `smtp/`: our SMTP client and its connection pool;
- at the top, the wiring (`main`, `service`, `config`), the Kafka side (`consumer`),
  `/metrics` (`http`), the ports the service layer codes against (`ports`) and the
  handling of personal data shared by all of them (`privacy`).
"""
