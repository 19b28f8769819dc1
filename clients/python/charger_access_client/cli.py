"""`access-cli`: send a command and print its result, or follow every result.

    access-cli send RegisterUser --actor 7f1c... --data '{"user_id": "7f1c...", ...}'
    access-cli send InviteUser --actor 7f1c... --data @invite.json
    access-cli results [--from-beginning] [--max N]

Where the broker is and how to reach it come from the service's own variables
(`KAFKA_BOOTSTRAP_SERVERS`, `TOPIC_PREFIX`, `KAFKA_SECURITY_PROTOCOL`, `KAFKA_SASL_*`,
`KAFKA_SSL_*`), so an operator's environment for the service works here unchanged.
Exit status of `send`: 0 accepted, 1 rejected, 3 no result in time; 2 a usage error,
4 no broker reached (or the login refused).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import uuid
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from charger_access_client.client import (
    DEFAULT_BOOTSTRAP,
    AccessClient,
    BrokerUnreachableError,
    NoResultError,
    TopicMissingError,
    follow_results,
)
from charger_access_client.commands import COMMAND_TYPES
from charger_access_client.security import KafkaSecurity, KafkaSettingError
from charger_access_client.topics import Topics

ACCEPTED, REJECTED, USAGE, NO_RESULT, UNREACHABLE = 0, 1, 2, 3, 4


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="access-cli", description="Talk to charger-access over Kafka.")
    parser.add_argument("--bootstrap-servers", default=None,
                        help="default: $KAFKA_BOOTSTRAP_SERVERS, else 127.0.0.1:9092")
    commands = parser.add_subparsers(dest="command", required=True)
    send = commands.add_parser("send", help="send one command and print its result")
    send.add_argument("type", help=f"one of: {', '.join(COMMAND_TYPES)}")
    send.add_argument("--actor", required=True, type=uuid.UUID,
                      help="the user on whose behalf it is sent")
    send.add_argument("--data", required=True,
                      help="the command's fields as JSON, @FILE for a file, - for stdin")
    send.add_argument("--id", type=uuid.UUID, default=None,
                      help="command id (default: new); the same id gets the same result")
    send.add_argument("--key", default=None, help="record key (default: the command id)")
    send.add_argument("--timeout", type=float, default=30.0, help="seconds (default 30)")
    results = commands.add_parser("results", help="print every result as it arrives")
    results.add_argument("--from-beginning", action="store_true",
                         help="start at the topic's first result, not at now")
    results.add_argument("--max", type=int, default=None, help="stop after this many")
    return parser


def _data(text: str) -> dict[str, Any]:
    if text == "-":
        text = sys.stdin.read()
    elif text.startswith("@"):
        text = Path(text[1:]).read_text(encoding="utf-8")
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError("--data must be a JSON object")
    return value


async def _send(args: argparse.Namespace, bootstrap: str, security: KafkaSecurity,
                topics: Topics) -> int:
    data = _data(args.data)
    async with AccessClient(bootstrap, security=security, topics=topics,
                            source="access-cli") as client:
        result = await client.run(args.type, data, actor=args.actor, command_id=args.id,
                                  key=args.key, timeout=args.timeout)
    print(result.model_dump_json(exclude_none=True))
    return ACCEPTED if result.status == "accepted" else REJECTED


async def _results(args: argparse.Namespace, bootstrap: str, security: KafkaSecurity,
                   topics: Topics) -> int:
    seen = 0
    if args.max is not None and args.max <= 0:
        return ACCEPTED
    async for result in follow_results(bootstrap, security=security, topics=topics,
                                       from_beginning=args.from_beginning):
        print(result.model_dump_json(exclude_none=True), flush=True)
        seen += 1
        if args.max is not None and seen >= args.max:
            break
    return ACCEPTED


def run(argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    args = _parser().parse_args(argv)
    env = os.environ if env is None else env
    bootstrap = args.bootstrap_servers or env.get("KAFKA_BOOTSTRAP_SERVERS", DEFAULT_BOOTSTRAP)
    topics = Topics(env.get("TOPIC_PREFIX", ""))
    try:
        security = KafkaSecurity.from_env(env)
        job = _send if args.command == "send" else _results
        return asyncio.run(job(args, bootstrap, security, topics))
    except BrokerUnreachableError as error:  # an OSError, but not the caller's mistake
        print(f"access-cli: {error}", file=sys.stderr)
        return UNREACHABLE
    except NoResultError as error:  # a TimeoutError, so an OSError too: before those
        print(f"access-cli: {error}; send again with --id {error.command_id} to learn "
              "its outcome", file=sys.stderr)
        return NO_RESULT
    except (KafkaSettingError, TopicMissingError, ValueError, OSError) as error:
        print(f"access-cli: {error}", file=sys.stderr)
        return USAGE
    except KeyboardInterrupt:
        return ACCEPTED


def main() -> None:
    sys.exit(run())
