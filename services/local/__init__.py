"""Local stand-ins for the production infrastructure (PostgreSQL, broker, SMTP), for
`make run`, the tests and the tools."""
