"""The boundary scheduler: appends the moments time-bound shares come into and go out of
effect (and the notice before one ends) to the event log, on time and exactly once.

`log` reads the share events off the store's log, `shares` folds them into the due
times, `book` (its rules) and `book_table` (PostgreSQL) keep every time-bound share
beyond the horizon held, `appending` writes through the Charger aggregate (whose state
makes each append idempotent, so racing instances append once), and `runner` ties them
to the clock.
"""
