"""The AsyncAPI 3.0 document of the event contract, generated from the catalogue.

`tollgate asyncapi` writes it to docs/asyncapi.yaml; a test fails when the
committed file differs from what the models say, so the document cannot drift.
"""

from __future__ import annotations

import re
from typing import Any

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from tollgate_shared.bus.base import ATTEMPT_HEADER
from tollgate_shared.bus.topology import ARCHIVE_MAX_LENGTH, ARCHIVE_QUEUE, EXCHANGE, UNROUTED_QUEUE
from tollgate_shared.events.catalogue import CATALOGUE
from tollgate_shared.events.envelope import Envelope

REF = "#/components/schemas/{model}"


def _identifier(event_type: str) -> str:
    """`billing.offline_payment.submitted` → `billingOfflinePaymentSubmitted` (AsyncAPI keys)."""
    words = re.split(r"[._]", event_type)
    return words[0] + "".join(word.capitalize() for word in words[1:])


def _schemas() -> dict[str, Any]:
    models: list[type[BaseModel]] = [Envelope, *(spec.model for spec in CATALOGUE.values())]
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=REF)
    schemas: dict[str, Any] = top.get("$defs", {})
    return dict(sorted(schemas.items()))


def _message(event_type: str) -> dict[str, Any]:
    spec = CATALOGUE[event_type]
    return {
        "name": event_type,
        "title": spec.model.__name__,
        "summary": spec.summary,
        "contentType": "application/json",
        "headers": {
            "type": "object",
            "properties": {
                "traceparent": {"type": "string", "description": "W3C trace context of the change"},
                ATTEMPT_HEADER: {"type": "integer", "description": "retries so far (set by consumers)"},
            },
        },
        "payload": {
            "allOf": [
                {"$ref": REF.format(model="Envelope")},
                {
                    "type": "object",
                    "properties": {
                        "type": {"const": event_type},
                        "source": {"const": spec.producer} if " " not in spec.producer else {"type": "string"},
                        "data": {"$ref": REF.format(model=spec.model.__name__)},
                    },
                },
            ]
        },
        "bindings": {"amqp": {"deliveryMode": 2, "messageType": event_type, "bindingVersion": "0.3.0"}},
        "x-producer": spec.producer,
        "x-consumers": spec.consumers,
        **({"x-archived-in": ARCHIVE_QUEUE} if spec.archived else {}),
    }


def build_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for event_type, spec in CATALOGUE.items():
        key = _identifier(event_type)
        messages[key] = _message(event_type)
        channels[key] = {
            "address": event_type,
            "description": f"Routing key `{event_type}` on the topic exchange `{EXCHANGE}`.",
            "messages": {key: {"$ref": f"#/components/messages/{key}"}},
            "bindings": {
                "amqp": {
                    "is": "routingKey",
                    "exchange": {"name": EXCHANGE, "type": "topic", "durable": True, "autoDelete": False, "vhost": "/"},
                    "bindingVersion": "0.3.0",
                }
            },
        }
        operations[f"{key}Send"] = {
            "action": "send",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"{spec.producer} publishes: {spec.summary}",
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
        operations[f"{key}Receive"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{key}"},
            "summary": f"Consumed by: {spec.consumers}" + (f"; kept in {ARCHIVE_QUEUE}" if spec.archived else ""),
            "messages": [{"$ref": f"#/channels/{key}/messages/{key}"}],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Tollgate events",
            "version": "1.0.0",
            "description": (
                "Every event is persistent JSON in the envelope `{id, type, version, occurred_at, source, "
                "account_id, data}` on the durable topic exchange `tollgate.events`; the routing key is the "
                "event type and the AMQP `message_id` is the event id. Consumers deduplicate on the id. "
                "Decisions of the finance approval service (`finance.offline_payment.decided`) are accepted "
                "only when the AMQP `user_id` property is the configured finance broker user. Money is a "
                "decimal string with two places. Types no service consumes by design (`x-archived-in`) are "
                f"kept, the newest {ARCHIVE_MAX_LENGTH:,}, in the queue `{ARCHIVE_QUEUE}`; whatever else no queue "
                f"takes goes to `{UNROUTED_QUEUE}` (a mistake to look into). "
                "Generated from shared/tollgate_shared/events/catalogue.py."
            ),
        },
        "defaultContentType": "application/json",
        "servers": {
            "rabbitmq": {
                "host": "rabbitmq:5672",
                "protocol": "amqp",
                "protocolVersion": "0.9.1",
                "description": "The platform's broker",
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages, "schemas": _schemas()},
    }


def render() -> str:
    """The document as YAML, stable for the same catalogue."""
    header = "# Generated by `tollgate asyncapi` from the event catalogue; do not edit by hand.\n"
    return header + yaml.safe_dump(build_document(), sort_keys=False, allow_unicode=True, width=100)
