"""`make run`: the whole system on this machine, in the foreground, until Ctrl-C.

Infrastructure first (each part only when its variable is unset, SPEC "Configuration"),
then the three services as child processes with the chosen variables exported: the
access service as two, its command side and its read side (`ACCESS_ROLE`), so each has a
core's worth of GIL. If a service dies, everything stops and we exit non-zero, so a broken
start is never mistaken for a running system.
"""

from __future__ import annotations

import argparse
import os
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

from services.common.config import redacted
from services.local import infra
from services.local.supervisor import StopRequested, Supervisor, say

SERVICES = ("access-service", "notifications-service", "ocpp-gateway")
ACCESS_SIDES = (("access", "commands", "ACCESS_COMMANDS_PORT"),
                ("access-queries", "queries", "API_PORT"))
"""The access service's processes: (name in the log, `ACCESS_ROLE`, its port's variable).
The query API keeps `API_PORT`; the command side answers `/readyz` and `/metrics` on
`ACCESS_COMMANDS_PORT` (its reads there are answered at the read models' tracked position)."""
READY_TIMEOUT = 180.0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="charger-access-run", description=__doc__)
    parser.add_argument("--var-dir", type=Path, default=Path("var"),
                        help="local state: pg cluster, mail, logs, token secret (default: ./var)")
    return parser.parse_args(argv)


def ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own http URL
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def announce_when_ready(env: dict[str, str], var: Path, token_defaulted: bool) -> None:
    """Print where everything is once both access processes answer /readyz with 200
    (consumer joins take a while)."""
    api = f"http://127.0.0.1:{env['API_PORT']}"
    commands = f"http://127.0.0.1:{env['ACCESS_COMMANDS_PORT']}"
    deadline = time.monotonic() + READY_TIMEOUT
    while not (ready(f"{api}/readyz") and ready(f"{commands}/readyz")):
        if time.monotonic() > deadline:
            say("run", f"{api}/readyz or {commands}/readyz still not 200 after "
                       f"{READY_TIMEOUT:.0f} s; see the logs")
            return
        time.sleep(0.5)
    token = env["API_TOKENS"].split(",")[0] if token_defaulted else "<one of API_TOKENS>"
    mail = f"{var / 'mail'}/*.eml" if "SMTP_URL" not in os.environ else redacted(env["SMTP_URL"])
    for line in (
        "charger-access is up",
        f"  query API : {api}   (bearer token: {token})",
        f"  try       : curl -H 'Authorization: Bearer {token}' {api}/readyz",
        f"  commands  : {commands}/metrics   (the command side's readiness and metrics)",
        f"  mail      : {mail}",
        f"  OCPP      : ws://127.0.0.1:{os.environ.get('OCPP_PORT', '9000')}/ocpp/<serial number>",
        f"  broker    : {env['KAFKA_BOOTSTRAP_SERVERS']}",
        f"  database  : {redacted(env['DATABASE_URL'])}",
        "  Ctrl-C stops everything.",
    ):
        say("run", line)


def check_ports(env: dict[str, str]) -> None:
    for _, _, variable in ACCESS_SIDES:
        if not infra.port_is_free(int(env[variable])):
            raise SystemExit(f"{variable} {env[variable]} is taken (another `make run`?): "
                             f"free it or set {variable}")


def start_everything(sup: Supervisor, var: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.update(infra.provide_settings(var))
    check_ports(env)
    env.update(infra.provide_database(sup, var))
    env.update(infra.provide_broker(sup, var))
    env.update(infra.provide_smtp(sup, var, env))
    for name in SERVICES:
        if name == "access-service":
            for label, role, port in ACCESS_SIDES:
                sup.spawn(label, [infra.script(name)],
                          {**env, "ACCESS_ROLE": role, "API_PORT": env[port]})
            continue
        sup.spawn(name.removesuffix("-service"), [infra.script(name)], env)
    return env


def main(argv: list[str] | None = None) -> None:
    """Console script `charger-access-run`."""
    var = parse_args(argv).var_dir.resolve()
    (var / "log").mkdir(parents=True, exist_ok=True)
    sup = Supervisor()
    sup.handle_signals()
    code = 0
    try:
        env = start_everything(sup, var)
        threading.Thread(
            target=announce_when_ready,
            args=(env, var, "API_TOKENS" not in os.environ),
            daemon=True,
        ).start()
        dead = sup.first_death()
        say("run", f"{dead.name} exited with code {dead.process.returncode}: stopping everything")
        code = 1
    except StopRequested as stop:
        say("run", f"{stop}: stopping")
    finally:
        sup.ignore_signals()
        sup.stop_all()
    sys.exit(code)


if __name__ == "__main__":
    main()
