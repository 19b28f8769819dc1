"""Talking to the SMTP server: our own client connection (it reports the instant an
e-mail is handed over) and a pool of them that sorts failures into transient or
permanent."""
