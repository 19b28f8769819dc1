"""The shipped services: access (commands, event log, read models, API) and notifications
(e-mails), with what they share and what `make run` needs locally."""
