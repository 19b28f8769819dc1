"""What an e-mail says: which e-mails an event causes, their text in each language, and
the MIME bytes that go to the server. Pure: no I/O."""
