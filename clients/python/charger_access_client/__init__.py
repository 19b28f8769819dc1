"""The public contract of charger-access, and a client that speaks it.

The models (envelopes, commands, results, events, local lists, topic names) are the one
source of truth: the service validates with them and publishes the AsyncAPI document
from them, so what a client imports is what the service accepts. Nothing here depends on
the service. Importing the models loads no broker client (the service's pure parts
import them); the Kafka client is `charger_access_client.client.AccessClient`.
"""

from charger_access_client.envelope import CommandEnvelope, CommandResult, EventEnvelope
from charger_access_client.security import KafkaSecurity, KafkaSettingError
from charger_access_client.topics import Topics

__all__ = [
    "CommandEnvelope",
    "CommandResult",
    "EventEnvelope",
    "KafkaSecurity",
    "KafkaSettingError",
    "Topics",
]
