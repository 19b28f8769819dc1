"""A command on a fleet's busiest aggregate, with the aggregates kept between batches
(`services/access/store/cache.py`, the service's default) and without (every batch
decodes the aggregate's whole history, as before): its cost as history grows.

    python -m bench.busy_aggregate --database-url URL [--commands 40]

The busiest user of the log (the one with the most events: in a generated fleet, the
driver its busiest charger is shared with) adds a charge key of their own again and again,
through the real executor and store, on two stores of the service's kind taking turns
(each command on the other store first finds the one before it in the log: the kept
path fast-forwards, as with two instances). Writes to that database: use a seeded copy.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from datetime import timedelta

import psycopg

from charger_access_client.commands import COMMAND_TYPES
from services.access.executor import Executor, Valid
from services.access.handlers.context import Rules
from services.access.store.application import EVENTS_TABLE, open_store
from services.access.store.cache import DEFAULT_CAPACITY

RULES = Rules(b"busy-aggregate-bench-secret-32b!", timedelta(days=7))


def busiest_user(url: str) -> tuple[uuid.UUID, int]:
    with psycopg.connect(url) as conn:
        row = conn.execute(
            f"SELECT originator_id, max(originator_version) FROM {EVENTS_TABLE} "  # noqa: S608
            "WHERE topic LIKE 'services.access.domain.user:%%' GROUP BY 1 ORDER BY 2 DESC "
            "LIMIT 1").fetchone()
    if row is None:
        raise SystemExit("the database holds no users")
    return row[0], row[1]


def measure(url: str, commands: int) -> dict[str, list[float]]:
    user, _events = busiest_user(url)
    stores = {"kept": open_store(url, pool_size=1, cache=DEFAULT_CAPACITY),
              "decoded": open_store(url, pool_size=1)}
    try:
        executors = {name: Executor(store, RULES) for name, store in stores.items()}
        times: dict[str, list[float]] = {name: [] for name in stores}
        for n in range(commands + 2):
            for name in (("kept", "decoded") if n % 2 else ("decoded", "kept")):
                command = COMMAND_TYPES["AddChargeKey"].model_validate({
                    "key_id": str(uuid.uuid4()), "user_id": str(user),
                    "id_token": uuid.uuid4().hex[:16]})
                began = time.perf_counter()
                result = executors[name].execute(
                    [Valid(str(uuid.uuid4()), user, "AddChargeKey", command)])[0]
                took = time.perf_counter() - began
                if result.status != "accepted":
                    raise RuntimeError(f"the command was not accepted: {result}")
                if n >= 2:  # the first two load what the kept store then keeps
                    times[name].append(took * 1000)
        return times
    finally:
        for store in stores.values():
            store.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.busy_aggregate", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--commands", type=int, default=40)
    args = parser.parse_args(argv)
    user, events = busiest_user(args.database_url)
    times = measure(args.database_url, args.commands)
    kept, decoded = (statistics.median(times[k]) for k in ("kept", "decoded"))
    print(f"busiest user {user}: {events:,} events before the run")
    print("| a command on it (median) | decoding its history | kept between batches | ratio |")
    print("|---|---|---|---|")
    print(f"| {args.commands} each, taking turns | {decoded:.1f} ms | {kept:.1f} ms | "
          f"{decoded / kept:.1f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
