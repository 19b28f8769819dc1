"""Every Kafka client the services build connects with the shared security options, so a
new one (a gateway, a publisher) cannot silently talk PLAINTEXT to a secured broker."""

from __future__ import annotations

import ast
from pathlib import Path

SERVICES = Path(__file__).resolve().parents[3] / "services"
CLIENTS = {"KafkaBroker", "AIOKafkaProducer", "AIOKafkaConsumer", "AIOKafkaAdminClient"}
OPTIONS = {"broker_options", "client_options", "consumer_options"}  # the last holds the second


def _name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def client_calls() -> list[tuple[str, ast.Call]]:
    found = []
    for path in sorted(SERVICES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call) and _name(node.func) in CLIENTS:
                found.append((f"{path.relative_to(SERVICES)}:{node.lineno}", node))
    return found


def test_the_services_build_kafka_clients() -> None:
    assert len(client_calls()) >= 3  # the access broker, the notification broker, the admin


def test_every_kafka_client_takes_the_shared_security_options() -> None:
    unsecured = [
        where for where, call in client_calls()
        if not any(keyword.arg is None and isinstance(keyword.value, ast.Call)
                   and _name(keyword.value.func) in OPTIONS for keyword in call.keywords)
    ]
    assert unsecured == [], "build them with **broker_options(settings) / **client_options(...) / **consumer_options(...)"
