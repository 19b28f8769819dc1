"""The event store's log as its followers (relay, projection, audit, rebuild) read it.

One module per job:

- `reader`: the SQL over the store's notification log (`EventLog`), and `pooled`, which
  turns it (or the projection's reader) into the `read_log(after, limit)` every follower
  takes;
- `values`: what a read hands out (`LoggedEvent`, `EventHead`) and published event ids;
  pure, so the projection's fold can use them without any I/O;
- `topics`: which stored event types are published (the only ones read);
- `fast`: decoding stored rows without eventsourcing's mapper;
- `translation`: the mapper's decoding and the domain event -> published event step, for
  what the fast path leaves (old class versions to upcast);
- `unsealing`: a batch's personal data, unsealed with the keys that still exist;
- `watch`: wake-ups on each commit (PostgreSQL LISTEN).

Nothing is imported here, so importing `values` pulls in no database driver.
"""
